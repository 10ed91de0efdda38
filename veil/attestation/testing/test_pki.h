// TestPki: a throwaway P-384 certificate hierarchy shaped like the Nitro one
// (root -> intermediates -> leaf, ecdsa-with-SHA384, the extensions of brief
// 1.3 step 9) and documents signed by its leaf, for verifier tests that the
// four real documents cannot cover (policy, nonce, freshness, cache, bad
// certificate profiles). Tests only.
#ifndef VEIL_ATTESTATION_TESTING_TEST_PKI_H_
#define VEIL_ATTESTATION_TESTING_TEST_PKI_H_

#include <openssl/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace veil::attestation::testing {

// PayloadFields describe a payload map. Empty optionals encode as CBOR null.
struct PayloadFields {
  std::string module_id = "i-0123456789abcdef0-enc0123456789abcdef";
  std::string digest = "SHA384";
  uint64_t timestamp_ms = 0;
  std::map<int, std::vector<uint8_t>> pcrs;
  std::vector<uint8_t> certificate;
  std::vector<std::vector<uint8_t>> cabundle;
  std::optional<std::vector<uint8_t>> public_key;
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
  bool indefinite_map = false;  // encode the payload as bf ... ff (like doc4)
};

// EncodePayload writes the nine keys in the NSM's order.
std::vector<uint8_t> EncodePayload(const PayloadFields& fields);

// DefaultPcrs returns PCR0..15 of 48 bytes each: PCR0..4 filled with their
// index + 1, the rest zero (PCR0 non-zero, so not debug mode).
std::map<int, std::vector<uint8_t>> DefaultPcrs();

class TestPki {
 public:
  struct Options {
    // `now` anchors the validity periods: root [now - 1y, now + 30y],
    // intermediates [now - 1d, now + 1d], leaf [now - 10s, now + 3h].
    absl::Time now = absl::Now();
    int intermediates = 2;
    // Profile knobs for negative tests.
    const char* leaf_curve = "P-384";
    bool leaf_is_ca = false;
    bool leaf_digital_signature = true;
    bool leaf_sha256_signature = false;  // leaf signed with ecdsa-with-SHA256
    std::optional<absl::Time> leaf_not_after;
    std::optional<absl::Time> intermediate_not_after;  // for the last intermediate
    std::string root_common_name = "veil test root";
  };

  static absl::StatusOr<std::unique_ptr<TestPki>> Create(const Options& options);
  ~TestPki();

  const std::vector<uint8_t>& root_der() const { return root_der_; }
  // cabundle returns [root, intermediate 1, ..., intermediate n].
  const std::vector<std::vector<uint8_t>>& cabundle() const { return cabundle_; }
  const std::vector<uint8_t>& leaf_der() const { return leaf_der_; }
  EVP_PKEY* leaf_key() const;

  // ReissueLeaf replaces the leaf with a fresh key and certificate under the
  // same intermediates, as a real NSM does for every document.
  absl::Status ReissueLeaf();

  // Fields returns PayloadFields with this PKI's certificate and cabundle,
  // DefaultPcrs() and `timestamp` (default: options.now).
  PayloadFields Fields(std::optional<absl::Time> timestamp = std::nullopt) const;
  // Sign returns a COSE_Sign1 document over EncodePayload(fields) signed by
  // the leaf key.
  std::vector<uint8_t> Sign(const PayloadFields& fields) const;

 private:
  struct Keys;
  TestPki(std::unique_ptr<Keys> keys, absl::Time now);
  std::unique_ptr<Keys> keys_;
  absl::Time now_;
  Options options_;
  long next_serial_ = 100;
  std::vector<uint8_t> root_der_;
  std::vector<std::vector<uint8_t>> cabundle_;
  std::vector<uint8_t> leaf_der_;
};

}  // namespace veil::attestation::testing

#endif  // VEIL_ATTESTATION_TESTING_TEST_PKI_H_
