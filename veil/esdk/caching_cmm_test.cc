#include "veil/esdk/caching_cmm.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/testing/status_matchers.h"

namespace veil::esdk {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::veil::testing::StatusIs;

// FakeClock is a thread-safe clock that moves only when told to.
class FakeClock : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'700'000'000);
};

// CountingCmm wraps a DefaultCmm and counts the calls that reach it. When
// `forced_suite` is set it is used for requests that name no suite, to model
// an underlying CMM whose default is an identity-KDF suite.
class CountingCmm : public CryptoMaterialsManager {
 public:
  explicit CountingCmm(std::shared_ptr<const Keyring> keyring,
                       std::optional<uint16_t> forced_suite = std::nullopt)
      : inner_(DefaultCmm::Create(std::move(keyring))), forced_suite_(forced_suite) {}

  absl::StatusOr<EncryptionMaterials> GetEncryptionMaterials(
      const EncryptionMaterialsRequest& request) override {
    ++encrypt_calls_;
    {
      absl::MutexLock lock(&mu_);
      last_max_plaintext_length_ = request.max_plaintext_length;
    }
    if (forced_suite_ && !request.suite_id) {
      EncryptionMaterialsRequest forced = request;
      forced.suite_id = forced_suite_;
      return inner_->GetEncryptionMaterials(forced);
    }
    return inner_->GetEncryptionMaterials(request);
  }
  absl::StatusOr<DecryptionMaterials> DecryptMaterials(
      const DecryptionMaterialsRequest& request) override {
    ++decrypt_calls_;
    return inner_->DecryptMaterials(request);
  }

  int encrypt_calls() const { return encrypt_calls_.load(); }
  int decrypt_calls() const { return decrypt_calls_.load(); }
  std::optional<uint64_t> last_max_plaintext_length() const {
    absl::MutexLock lock(&mu_);
    return last_max_plaintext_length_;
  }

 private:
  std::unique_ptr<DefaultCmm> inner_;
  std::optional<uint16_t> forced_suite_;
  std::atomic<int> encrypt_calls_{0};
  std::atomic<int> decrypt_calls_{0};
  mutable absl::Mutex mu_;
  std::optional<uint64_t> last_max_plaintext_length_ ABSL_GUARDED_BY(mu_);
};

std::shared_ptr<const Keyring> AesKeyring(const std::string& name = "key-a", uint8_t fill = 7) {
  std::vector<uint8_t> key(32, fill);
  return std::shared_ptr<const Keyring>(
      RawAesKeyring::Create("veil-test", name, SecretBytes::Copy(key)).value());
}

std::vector<uint8_t> KeyBytes(const EncryptionMaterials& m) {
  return std::vector<uint8_t>(m.plaintext_data_key->Expose().begin(),
                              m.plaintext_data_key->Expose().end());
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + 1);
  return v;
}

EncryptionMaterialsRequest EncRequest(std::optional<uint64_t> length,
                                      std::optional<uint16_t> suite = kSuite0478,
                                      EncryptionContext ec = {{"tenant", "acme"}}) {
  EncryptionMaterialsRequest r;
  r.encryption_context = std::move(ec);
  r.suite_id = suite;
  r.max_plaintext_length = length;
  r.commitment_policy = suite && !FindSuite(*suite)->committing
                            ? CommitmentPolicy::kForbidEncryptAllowDecrypt
                            : CommitmentPolicy::kRequireEncryptRequireDecrypt;
  return r;
}

class CachingCmmTest : public ::testing::Test {
 protected:
  CachingCmmTest()
      : keyring_(AesKeyring()),
        underlying_(std::make_shared<CountingCmm>(keyring_)),
        cache_(MaterialsCache::Create(16).value()),
        clock_(std::make_shared<FakeClock>()) {}

  CachingCmmOptions Options() {
    CachingCmmOptions o;
    o.max_age = absl::Minutes(5);
    o.partition_id = "partition-a";
    o.clock = clock_;
    return o;
  }

  std::unique_ptr<CachingCmm> Make(CachingCmmOptions o) {
    auto cmm = CachingCmm::Create(underlying_, cache_, std::move(o));
    EXPECT_TRUE(cmm.ok()) << cmm.status();
    return std::move(cmm).value();
  }
  std::unique_ptr<CachingCmm> Make() { return Make(Options()); }

  std::shared_ptr<const Keyring> keyring_;
  std::shared_ptr<CountingCmm> underlying_;
  std::shared_ptr<MaterialsCache> cache_;
  std::shared_ptr<FakeClock> clock_;
};

// --- Encrypt: reuse within limits -------------------------------------------

TEST_F(CachingCmmTest, ReusesMaterialsWithinLimits) {
  auto cmm = Make();
  VEIL_ASSERT_OK_AND_ASSIGN(auto first, cmm->GetEncryptionMaterials(EncRequest(100)));
  for (int i = 0; i < 9; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto again, cmm->GetEncryptionMaterials(EncRequest(100)));
    EXPECT_EQ(KeyBytes(again), KeyBytes(first));
    EXPECT_EQ(again.encrypted_data_keys, first.encrypted_data_keys);
    EXPECT_EQ(again.suite, first.suite);
  }
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
}

TEST_F(CachingCmmTest, ReturnsIndependentCopies) {
  auto cmm = Make();
  VEIL_ASSERT_OK_AND_ASSIGN(auto first, cmm->GetEncryptionMaterials(EncRequest(1)));
  const std::vector<uint8_t> original = KeyBytes(first);
  for (uint8_t& b : first.plaintext_data_key->MutableExpose()) b ^= 0xFF;
  first.encryption_context["mutated"] = "yes";
  first.encrypted_data_keys.clear();

  VEIL_ASSERT_OK_AND_ASSIGN(auto second, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(KeyBytes(second), original);
  EXPECT_FALSE(second.encryption_context.contains("mutated"));
  EXPECT_THAT(second.encrypted_data_keys, SizeIs(1));
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
}

TEST_F(CachingCmmTest, StoredMaterialsAreRequestedWithLimitBytes) {
  CachingCmmOptions o = Options();
  o.max_bytes = 5000;
  auto cmm = Make(o);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(10)));
  EXPECT_EQ(underlying_->last_max_plaintext_length(), 5000u);
  // A bypassing request is passed on unchanged.
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(std::nullopt)));
  EXPECT_EQ(underlying_->last_max_plaintext_length(), std::nullopt);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(6000)));
  EXPECT_EQ(underlying_->last_max_plaintext_length(), 6000u);
}

// --- Encrypt: limits -------------------------------------------------------

TEST_F(CachingCmmTest, RefreshesWhenMaxMessagesReached) {
  CachingCmmOptions o = Options();
  o.max_messages = 3;
  auto cmm = Make(o);
  std::vector<std::vector<uint8_t>> keys;
  for (int i = 0; i < 7; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto m, cmm->GetEncryptionMaterials(EncRequest(10)));
    keys.push_back(KeyBytes(m));
  }
  // Messages 1-3 share a key, 4-6 the next, 7 starts a third.
  EXPECT_EQ(keys[0], keys[1]);
  EXPECT_EQ(keys[0], keys[2]);
  EXPECT_NE(keys[3], keys[0]);
  EXPECT_EQ(keys[3], keys[4]);
  EXPECT_EQ(keys[3], keys[5]);
  EXPECT_NE(keys[6], keys[3]);
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
}

TEST_F(CachingCmmTest, MaxMessagesOfOneNeverReuses) {
  CachingCmmOptions o = Options();
  o.max_messages = 1;
  auto cmm = Make(o);
  for (int i = 0; i < 4; ++i) VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(10)));
  EXPECT_EQ(underlying_->encrypt_calls(), 4);
}

TEST_F(CachingCmmTest, RefreshesWhenMaxBytesExceeded) {
  CachingCmmOptions o = Options();
  o.max_bytes = 100;
  auto cmm = Make(o);
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, cmm->GetEncryptionMaterials(EncRequest(40)));  // 40
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, cmm->GetEncryptionMaterials(EncRequest(40)));  // 80
  EXPECT_EQ(KeyBytes(a), KeyBytes(b));
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
  VEIL_ASSERT_OK_AND_ASSIGN(auto c, cmm->GetEncryptionMaterials(EncRequest(40)));  // 120 > 100
  EXPECT_NE(KeyBytes(c), KeyBytes(a));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  // The fresh entry started at 40 bytes: 40 + 60 = 100 is still within.
  VEIL_ASSERT_OK_AND_ASSIGN(auto d, cmm->GetEncryptionMaterials(EncRequest(60)));
  EXPECT_EQ(KeyBytes(d), KeyBytes(c));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  // Now at 100: even an empty message would be within, one more byte is not.
  VEIL_ASSERT_OK_AND_ASSIGN(auto e, cmm->GetEncryptionMaterials(EncRequest(0)));
  EXPECT_EQ(KeyBytes(e), KeyBytes(c));
  VEIL_ASSERT_OK_AND_ASSIGN(auto f, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_NE(KeyBytes(f), KeyBytes(c));
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
}

TEST_F(CachingCmmTest, PlaintextReachingMaxBytesAloneIsNotStored) {
  CachingCmmOptions o = Options();
  o.max_bytes = 100;
  auto cmm = Make(o);
  // 100 >= 100: the materials are used once and never stored.
  for (int i = 0; i < 3; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto m, cmm->GetEncryptionMaterials(EncRequest(100)));
    EXPECT_TRUE(m.plaintext_data_key.has_value());  // the first use always proceeds
  }
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  EXPECT_EQ(cache_->size(), 0u);
  // 99 < 100 is stored, and a later oversized message leaves it in place.
  VEIL_ASSERT_OK_AND_ASSIGN(auto small, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(cache_->size(), 1u);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(5000)));
  VEIL_ASSERT_OK_AND_ASSIGN(auto again, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(KeyBytes(again), KeyBytes(small));
  EXPECT_EQ(underlying_->encrypt_calls(), 5);
}

TEST_F(CachingCmmTest, MaxBytesZeroDisablesEncryptCaching) {
  CachingCmmOptions o = Options();
  o.max_bytes = 0;
  auto cmm = Make(o);
  for (int i = 0; i < 3; ++i) VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(0)));
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingCmmTest, ExpiresAfterMaxAge) {
  auto cmm = Make();  // max_age 5 minutes
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, cmm->GetEncryptionMaterials(EncRequest(1)));
  clock_->Advance(absl::Minutes(5));  // age == max_age: still usable
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(KeyBytes(b), KeyBytes(a));
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
  clock_->Advance(absl::Nanoseconds(1));
  VEIL_ASSERT_OK_AND_ASSIGN(auto c, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_NE(KeyBytes(c), KeyBytes(a));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  // The replacement has its own, fresh age.
  clock_->Advance(absl::Minutes(4));
  VEIL_ASSERT_OK_AND_ASSIGN(auto d, cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(KeyBytes(d), KeyBytes(c));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
}

// --- Encrypt: what is never cached -----------------------------------------

TEST_F(CachingCmmTest, UnknownPlaintextLengthBypassesCache) {
  auto cmm = Make();
  for (int i = 0; i < 3; ++i) {
    VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(std::nullopt)));
  }
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingCmmTest, IdentityKdfSuitesAreNeverCachedOnEncrypt) {
  auto cmm = Make();
  for (uint16_t suite : {kSuite0014, kSuite0046, kSuite0078}) {
    for (int i = 0; i < 2; ++i) {
      VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(10, suite)));
    }
  }
  EXPECT_EQ(underlying_->encrypt_calls(), 6);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingCmmTest, IdentityKdfMaterialsForUnnamedSuiteAreNotStored) {
  underlying_ = std::make_shared<CountingCmm>(keyring_, kSuite0078);
  auto cmm = Make();
  EncryptionMaterialsRequest r = EncRequest(10, std::nullopt);
  r.commitment_policy = CommitmentPolicy::kForbidEncryptAllowDecrypt;
  for (int i = 0; i < 3; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto m, cmm->GetEncryptionMaterials(r));
    EXPECT_EQ(m.suite->id, kSuite0078);
  }
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingCmmTest, UnserializableContextBypassesCache) {
  auto cmm = Make();
  // A value longer than 65535 bytes cannot be serialized; the underlying CMM
  // is asked every time (and the encryptor would reject the context).
  auto r = EncRequest(10, kSuite0478, {{"big", std::string(70000, 'x')}});
  (void)cmm->GetEncryptionMaterials(r);
  (void)cmm->GetEncryptionMaterials(r);
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  EXPECT_EQ(cache_->size(), 0u);
}

// --- Encrypt: entry separation ----------------------------------------------

TEST_F(CachingCmmTest, DifferentEncryptionContextsDoNotShare) {
  auto cmm = Make();
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, cmm->GetEncryptionMaterials(
                                        EncRequest(1, kSuite0478, {{"tenant", "acme"}})));
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, cmm->GetEncryptionMaterials(
                                        EncRequest(1, kSuite0478, {{"tenant", "umbrella"}})));
  VEIL_ASSERT_OK_AND_ASSIGN(auto c, cmm->GetEncryptionMaterials(EncRequest(1, kSuite0478, {})));
  VEIL_ASSERT_OK_AND_ASSIGN(
      auto d, cmm->GetEncryptionMaterials(
                  EncRequest(1, kSuite0478, {{"tenant", "acme"}, {"extra", ""}})));
  EXPECT_NE(KeyBytes(a), KeyBytes(b));
  EXPECT_NE(KeyBytes(a), KeyBytes(c));
  EXPECT_NE(KeyBytes(a), KeyBytes(d));
  EXPECT_EQ(underlying_->encrypt_calls(), 4);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0478, {{"tenant", "acme"}})));
  EXPECT_EQ(underlying_->encrypt_calls(), 4);
}

TEST_F(CachingCmmTest, DifferentSuitesAndPoliciesDoNotShare) {
  auto cmm = Make();
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0478)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0578)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, std::nullopt)));  // defaults to 0578
  EncryptionMaterialsRequest allow = EncRequest(1, std::nullopt);
  allow.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(allow));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0178)));
  EXPECT_EQ(underlying_->encrypt_calls(), 5);
  EXPECT_EQ(cache_->size(), 5u);
  // Each is now a hit.
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0478)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0578)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, std::nullopt)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(allow));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0178)));
  EXPECT_EQ(underlying_->encrypt_calls(), 5);
}

TEST_F(CachingCmmTest, PartitionsSeparateCmmsSharingACache) {
  CachingCmmOptions a_opts = Options();
  a_opts.partition_id = "a";
  CachingCmmOptions b_opts = Options();
  b_opts.partition_id = "b";
  auto a = Make(a_opts);
  auto a2 = Make(a_opts);
  auto b = Make(b_opts);
  VEIL_ASSERT_OK_AND_ASSIGN(auto ma, a->GetEncryptionMaterials(EncRequest(1)));
  VEIL_ASSERT_OK_AND_ASSIGN(auto mb, b->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_NE(KeyBytes(ma), KeyBytes(mb));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  // Same partition: shared.
  VEIL_ASSERT_OK_AND_ASSIGN(auto ma2, a2->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(KeyBytes(ma2), KeyBytes(ma));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
}

TEST_F(CachingCmmTest, DefaultPartitionsAreRandomAndNotShared) {
  CachingCmmOptions o = Options();
  o.partition_id.reset();
  auto a = Make(o);
  auto b = Make(o);
  EXPECT_NE(a->partition_id(), b->partition_id());
  EXPECT_THAT(a->partition_id(), SizeIs(36));
  VEIL_ASSERT_OK(a->GetEncryptionMaterials(EncRequest(1)));
  VEIL_ASSERT_OK(b->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
}

// --- The cache itself ---------------------------------------------------------

TEST_F(CachingCmmTest, EvictsLeastRecentlyUsedAtCapacity) {
  cache_ = MaterialsCache::Create(2).value();
  auto cmm = Make();
  auto req = [](const std::string& tenant) {
    return EncRequest(1, kSuite0478, {{"tenant", tenant}});
  };
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("one")));  // miss: [one]
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("two")));  // miss: [two, one]
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("one")));  // hit:  [one, two]
  EXPECT_EQ(underlying_->encrypt_calls(), 2);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("three")));  // miss, evicts two
  EXPECT_EQ(cache_->size(), 2u);
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("one")));  // hit
  EXPECT_EQ(underlying_->encrypt_calls(), 3);
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(req("two")));  // miss again
  EXPECT_EQ(underlying_->encrypt_calls(), 4);
  EXPECT_EQ(cache_->size(), 2u);
}

TEST(MaterialsCacheTest, RejectsZeroCapacity) {
  EXPECT_THAT(MaterialsCache::Create(0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MaterialsCacheTest, EncryptionAndDecryptionIdsAreSeparateSpaces) {
  auto cache = MaterialsCache::Create(4).value();
  const std::vector<uint8_t> id = {1, 2, 3};
  EncryptionMaterials em;
  em.suite = FindSuite(kSuite0478);
  em.plaintext_data_key = SecretBytes(32);
  cache->PutEncryptionEntry(id, em, absl::UnixEpoch(), 1, 0);
  EXPECT_FALSE(cache->GetDecryptionEntry(id).has_value());
  DecryptionMaterials dm;
  dm.suite = FindSuite(kSuite0478);
  cache->PutDecryptionEntry(id, dm, absl::UnixEpoch());
  EXPECT_EQ(cache->size(), 2u);
  auto e = cache->GetEncryptionEntry(id, 7);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->messages_used, 2u);
  EXPECT_EQ(e->bytes_used, 7u);
  EXPECT_TRUE(cache->GetDecryptionEntry(id).has_value());
}

TEST(MaterialsCacheTest, RemoveIgnoresAStaleGeneration) {
  auto cache = MaterialsCache::Create(4).value();
  const std::vector<uint8_t> id = {9};
  EncryptionMaterials em;
  em.suite = FindSuite(kSuite0478);
  const uint64_t old_gen = cache->PutEncryptionEntry(id, em, absl::UnixEpoch(), 1, 0);
  const uint64_t new_gen = cache->PutEncryptionEntry(id, em, absl::UnixEpoch(), 1, 0);
  EXPECT_NE(old_gen, new_gen);
  EXPECT_EQ(cache->size(), 1u);
  cache->RemoveEncryptionEntry(id, old_gen);
  EXPECT_EQ(cache->size(), 1u);
  cache->RemoveEncryptionEntry(id, new_gen);
  EXPECT_EQ(cache->size(), 0u);
}

TEST(MaterialsCacheTest, UsageSaturatesInsteadOfWrapping) {
  auto cache = MaterialsCache::Create(1).value();
  const std::vector<uint8_t> id = {1};
  EncryptionMaterials em;
  em.suite = FindSuite(kSuite0478);
  cache->PutEncryptionEntry(id, em, absl::UnixEpoch(), 1, UINT64_MAX - 1);
  auto e = cache->GetEncryptionEntry(id, 10);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->bytes_used, UINT64_MAX);
}

// --- Decrypt ------------------------------------------------------------------

TEST_F(CachingCmmTest, CachesDecryptionUntilMaxAge) {
  EncryptOptions eo;
  eo.suite_id = kSuite0478;
  eo.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring_, Pattern(300), eo));
  auto cmm = Make();
  VEIL_ASSERT_OK_AND_ASSIGN(auto r1, Decrypt(*cmm, ct, DecryptOptions()));
  VEIL_ASSERT_OK_AND_ASSIGN(auto r2, Decrypt(*cmm, ct, DecryptOptions()));
  EXPECT_EQ(std::vector<uint8_t>(r2.plaintext.Expose().begin(), r2.plaintext.Expose().end()),
            Pattern(300));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);
  clock_->Advance(absl::Minutes(5) + absl::Seconds(1));
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, DecryptOptions()));
  EXPECT_EQ(underlying_->decrypt_calls(), 2);
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, DecryptOptions()));
  EXPECT_EQ(underlying_->decrypt_calls(), 2);
}

TEST_F(CachingCmmTest, DecryptionEntriesIgnoreMessageAndByteLimits) {
  CachingCmmOptions o = Options();
  o.max_messages = 1;
  o.max_bytes = 1;
  auto cmm = Make(o);
  EncryptOptions eo;
  eo.suite_id = kSuite0478;
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring_, Pattern(1000), eo));
  for (int i = 0; i < 3; ++i) VEIL_ASSERT_OK(Decrypt(*cmm, ct, DecryptOptions()));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);
}

class DecryptRequestTest : public CachingCmmTest {
 protected:
  void SetUp() override {
    auto multi = MultiKeyring::Create(AesKeyring("gen", 1), {AesKeyring("child", 2)});
    ASSERT_TRUE(multi.ok());
    std::shared_ptr<const Keyring> keyring(std::move(multi).value());
    underlying_ = std::make_shared<CountingCmm>(keyring);
    auto m = DefaultCmm::Create(keyring)->GetEncryptionMaterials(EncRequest(1, kSuite0578));
    ASSERT_TRUE(m.ok()) << m.status();
    materials_ = std::move(m).value();
    ASSERT_THAT(materials_.encrypted_data_keys, SizeIs(2));
  }

  DecryptionMaterialsRequest Request() {
    DecryptionMaterialsRequest r;
    r.suite_id = materials_.suite->id;
    r.encrypted_data_keys = materials_.encrypted_data_keys;
    r.encryption_context = materials_.encryption_context;
    return r;
  }

  EncryptionMaterials materials_;
};

TEST_F(DecryptRequestTest, EdkOrderDoesNotMatter) {
  auto cmm = Make();
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, cmm->DecryptMaterials(Request()));
  std::vector<EncryptedDataKey> reversed(materials_.encrypted_data_keys.rbegin(),
                                         materials_.encrypted_data_keys.rend());
  DecryptionMaterialsRequest r = Request();
  r.encrypted_data_keys = reversed;
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, cmm->DecryptMaterials(r));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);
  EXPECT_EQ(b.verification_key, a.verification_key);
  ASSERT_TRUE(b.plaintext_data_key.has_value());
  EXPECT_EQ(std::vector<uint8_t>(b.plaintext_data_key->Expose().begin(),
                                 b.plaintext_data_key->Expose().end()),
            KeyBytes(materials_));
}

TEST_F(DecryptRequestTest, EdksContextAndReproducedContextSeparateEntries) {
  auto cmm = Make();
  VEIL_ASSERT_OK(cmm->DecryptMaterials(Request()));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);

  // One EDK fewer: a different entry (the generator's EDK still unwraps).
  DecryptionMaterialsRequest fewer = Request();
  std::vector<EncryptedDataKey> first_only = {materials_.encrypted_data_keys[0]};
  fewer.encrypted_data_keys = first_only;
  VEIL_ASSERT_OK(cmm->DecryptMaterials(fewer));
  EXPECT_EQ(underlying_->decrypt_calls(), 2);

  // Reproducing a stored pair gives the same materials but is keyed apart.
  DecryptionMaterialsRequest reproduced = Request();
  reproduced.reproduced_encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK(cmm->DecryptMaterials(reproduced));
  EXPECT_EQ(underlying_->decrypt_calls(), 3);

  // A different stored context is a different entry (and fails to unwrap).
  DecryptionMaterialsRequest other = Request();
  other.encryption_context["tenant"] = "umbrella";
  EXPECT_FALSE(cmm->DecryptMaterials(other).ok());
  EXPECT_EQ(underlying_->decrypt_calls(), 4);

  // A different policy is a different entry.
  DecryptionMaterialsRequest allow = Request();
  allow.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
  VEIL_ASSERT_OK(cmm->DecryptMaterials(allow));
  EXPECT_EQ(underlying_->decrypt_calls(), 5);

  // Failures are not cached; successes are.
  EXPECT_FALSE(cmm->DecryptMaterials(other).ok());
  EXPECT_EQ(underlying_->decrypt_calls(), 6);
  VEIL_ASSERT_OK(cmm->DecryptMaterials(Request()));
  VEIL_ASSERT_OK(cmm->DecryptMaterials(fewer));
  VEIL_ASSERT_OK(cmm->DecryptMaterials(reproduced));
  VEIL_ASSERT_OK(cmm->DecryptMaterials(allow));
  EXPECT_EQ(underlying_->decrypt_calls(), 6);
}

TEST_F(DecryptRequestTest, DecryptAndEncryptEntriesDoNotCollide) {
  auto cmm = Make();
  VEIL_ASSERT_OK(cmm->DecryptMaterials(Request()));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1, kSuite0578)));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
  EXPECT_EQ(cache_->size(), 2u);
}

TEST_F(CachingCmmTest, IdentityKdfSuitesAreNeverCachedOnDecrypt) {
  auto cmm = Make();
  EncryptOptions eo;
  eo.suite_id = kSuite0078;
  eo.commitment_policy = CommitmentPolicy::kForbidEncryptAllowDecrypt;
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring_, Pattern(50), eo));
  DecryptOptions d;
  d.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, d));
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, d));
  EXPECT_EQ(underlying_->decrypt_calls(), 2);
  EXPECT_EQ(cache_->size(), 0u);
}

// --- End to end ------------------------------------------------------------------

TEST_F(CachingCmmTest, MessagesEncryptedWithCachedKeysDecrypt) {
  for (uint16_t suite : {kSuite0478, kSuite0578, kSuite0178, kSuite0378}) {
    SCOPED_TRACE(SuiteIdString(suite));
    underlying_ = std::make_shared<CountingCmm>(keyring_);
    cache_ = MaterialsCache::Create(16).value();
    auto cmm = Make();
    EncryptOptions eo;
    eo.suite_id = suite;
    eo.commitment_policy = FindSuite(suite)->committing
                               ? CommitmentPolicy::kRequireEncryptRequireDecrypt
                               : CommitmentPolicy::kForbidEncryptAllowDecrypt;
    eo.encryption_context = {{"tenant", "acme"}};
    eo.frame_length = 64;
    DecryptOptions d;
    d.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;

    std::set<std::string> public_keys;
    std::set<std::vector<uint8_t>> message_ids;
    for (size_t i = 0; i < 5; ++i) {
      const auto plaintext = Pattern(100 + 37 * i);
      VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(*cmm, plaintext, eo));
      // Decrypt without any cache: the message stands on its own.
      VEIL_ASSERT_OK_AND_ASSIGN(auto plain, Decrypt(keyring_, ct, d));
      EXPECT_EQ(std::vector<uint8_t>(plain.plaintext.Expose().begin(),
                                     plain.plaintext.Expose().end()),
                plaintext);
      message_ids.insert(plain.info.message_id);
      auto pub = plain.info.encryption_context.find(kPublicKeyContextKey);
      if (FindSuite(suite)->signed_suite()) {
        ASSERT_NE(pub, plain.info.encryption_context.end());
        public_keys.insert(pub->second);
      } else {
        EXPECT_EQ(pub, plain.info.encryption_context.end());
      }
      // And through the caching CMM.
      VEIL_ASSERT_OK_AND_ASSIGN(auto cached, Decrypt(*cmm, ct, d));
      EXPECT_EQ(std::vector<uint8_t>(cached.plaintext.Expose().begin(),
                                     cached.plaintext.Expose().end()),
                plaintext);
    }
    EXPECT_EQ(underlying_->encrypt_calls(), 1);
    // The messages share data key, EDKs and context, hence one decrypt entry.
    EXPECT_EQ(underlying_->decrypt_calls(), 1);
    // Each message still has its own message ID (and so its own derived key).
    EXPECT_EQ(message_ids.size(), 5u);
    // Signed suites: the signing key, and with it the public key, is shared.
    EXPECT_EQ(public_keys.size(), FindSuite(suite)->signed_suite() ? 1u : 0u);
  }
}

TEST_F(CachingCmmTest, TamperedMessageStillFailsWithCachedMaterials) {
  auto cmm = Make();
  EncryptOptions eo;
  eo.suite_id = kSuite0578;
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(*cmm, Pattern(200), eo));
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, DecryptOptions()));  // caches the materials
  // Footer = u16 length + 103-byte signature; before it the final frame's
  // 16-byte tag and 200 bytes of ciphertext. Flip a ciphertext byte.
  auto bad = ct;
  bad[bad.size() - 105 - 16 - 100] ^= 0x01;
  EXPECT_THAT(Decrypt(*cmm, bad, DecryptOptions()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(underlying_->decrypt_calls(), 1);
}

// --- Concurrency ----------------------------------------------------------------

TEST_F(CachingCmmTest, ConcurrentEncryptsStayWithinLimits) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  constexpr uint64_t kLength = 100;
  CachingCmmOptions o = Options();
  o.max_messages = 50;
  o.max_bytes = 3000;  // binds first: at most 30 messages of 100 bytes per key
  cache_ = MaterialsCache::Create(2).value();
  auto cmm = Make(o);

  std::vector<std::vector<std::string>> seen(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Two contexts, so entries also move through the LRU list.
        auto r = EncRequest(kLength, kSuite0478, {{"tenant", i % 2 == 0 ? "even" : "odd"}});
        auto m = cmm->GetEncryptionMaterials(r);
        if (!m.ok()) {
          ++failures;
          continue;
        }
        seen[t].push_back(HexEncode(m->plaintext_data_key->Expose()));
        if (i % 3 == 0) clock_->Advance(absl::Milliseconds(1));
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures.load(), 0);
  std::map<std::string, int> uses;
  for (const auto& keys : seen) {
    for (const auto& k : keys) ++uses[k];
  }
  int total = 0;
  for (const auto& [key, n] : uses) {
    EXPECT_LE(n, 30) << "a cached data key was used beyond max_bytes";
    total += n;
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  // Every underlying call made exactly one fresh key.
  EXPECT_EQ(static_cast<int>(uses.size()), underlying_->encrypt_calls());
  EXPECT_GE(underlying_->encrypt_calls(), (kThreads * kPerThread + 29) / 30);
  EXPECT_LT(underlying_->encrypt_calls(), kThreads * kPerThread);
  EXPECT_LE(cache_->size(), 2u);
}

TEST_F(CachingCmmTest, ConcurrentRoundTrips) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  CachingCmmOptions o = Options();
  o.max_messages = 20;
  auto cmm = Make(o);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      EncryptOptions eo;
      eo.suite_id = t % 2 == 0 ? kSuite0478 : kSuite0578;
      eo.encryption_context = {{"thread-parity", t % 2 == 0 ? "even" : "odd"}};
      for (int i = 0; i < kPerThread; ++i) {
        const auto plaintext = Pattern(10 + i);
        auto ct = Encrypt(*cmm, plaintext, eo);
        if (!ct.ok()) {
          ++failures;
          continue;
        }
        auto pt = Decrypt(*cmm, *ct, DecryptOptions());
        if (!pt.ok() || std::vector<uint8_t>(pt->plaintext.Expose().begin(),
                                             pt->plaintext.Expose().end()) != plaintext) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // 100 messages per suite at <= 20 per key: at least 5 keys each.
  EXPECT_GE(underlying_->encrypt_calls(), 10);
  EXPECT_LT(underlying_->encrypt_calls(), kThreads * kPerThread);
}

// --- Configuration ------------------------------------------------------------------

TEST_F(CachingCmmTest, CreateValidatesOptions) {
  auto create = [&](CachingCmmOptions o) {
    return CachingCmm::Create(underlying_, cache_, std::move(o));
  };
  CachingCmmOptions o = Options();
  o.max_age = absl::ZeroDuration();
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.max_age = -absl::Seconds(1);
  auto neg = create(o);
  EXPECT_THAT(neg, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(neg.status().message()), HasSubstr("-1s"));

  o = Options();
  o.max_messages = 0;
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.max_messages = kCachingCmmMaxMessagesLimit + 1;
  auto many = create(o);
  EXPECT_THAT(many, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(many.status().message()), HasSubstr("4294967297"));
  o.max_messages = kCachingCmmMaxMessagesLimit;
  VEIL_EXPECT_OK(create(o));

  o = Options();
  o.max_bytes = kCachingCmmMaxBytesLimit + 1;
  auto big = create(o);
  EXPECT_THAT(big, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(big.status().message()), HasSubstr("9223372036854775808"));
  o.max_bytes = kCachingCmmMaxBytesLimit;
  VEIL_EXPECT_OK(create(o));

  EXPECT_THAT(CachingCmm::Create(nullptr, cache_, Options()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CachingCmm::Create(underlying_, nullptr, Options()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CachingCmmTest, DefaultsAreTheSpecMaxima) {
  CachingCmmOptions o;
  EXPECT_EQ(o.max_messages, uint64_t{1} << 32);
  EXPECT_EQ(o.max_bytes, (uint64_t{1} << 63) - 1);
  o.max_age = absl::Hours(1);
  VEIL_ASSERT_OK_AND_ASSIGN(auto cmm, CachingCmm::Create(underlying_, cache_, o));
  // The real clock is used by default.
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1)));
  VEIL_ASSERT_OK(cmm->GetEncryptionMaterials(EncRequest(1)));
  EXPECT_EQ(underlying_->encrypt_calls(), 1);
}

}  // namespace
}  // namespace veil::esdk
