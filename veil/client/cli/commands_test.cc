// Tests of the command functions (the real binary is tested end to end by
// veil_cli_test.sh).
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/command_table.h"
#include "veil/client/cli/decrypt_command.h"
#include "veil/client/cli/encrypt_command.h"
#include "veil/client/cli/keygen_command.h"
#include "veil/testing/status_matchers.h"

namespace veil::client {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

TEST(CliStatusTest, MapsStatusesToExitCodes) {
  EXPECT_EQ(ExitCode(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCode(UsageError("bad flag")), 2);
  EXPECT_EQ(ExitCode(absl::InvalidArgumentError("truncated message")), 1);
  EXPECT_EQ(ExitCode(absl::UnauthenticatedError("message authentication failed")), 1);
  EXPECT_EQ(ErrorLine(absl::InternalError("a\nb")), "veil: a; b");
}

TEST(CommandTableTest, ParsesSubcommandsAndReportsUsageErrors) {
  std::vector<std::string> names;
  for (const Subcommand& c : Subcommands()) names.push_back(c.name);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"encrypt", "decrypt", "keygen"}));

  const char* none[] = {"veil"};
  auto r = ParseCommandLine(1, none);
  EXPECT_TRUE(!r.ok() && IsUsageError(r.status()));
  const char* unknown[] = {"veil", "encrypt", "--input", "a", "--bogus"};
  r = ParseCommandLine(5, unknown);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsUsageError(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("veil encrypt --help"));
  const char* two_values[] = {"veil", "encrypt",        "--input", "a", "--output",
                              "b",    "--wrapping-key", "x",       "y"};
  EXPECT_FALSE(ParseCommandLine(9, two_values).ok());
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/veil_cmd_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    KeygenCommandOptions keygen;
    keygen.aes_bits = 256;
    keygen.out = Path("wrap.key");
    VEIL_ASSERT_OK(RunKeygen(keygen));
    std::ofstream(Path("pt"), std::ios::binary) << std::string(100000, 'p');
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Spec() const { return "raw-aes:veil-test:wrap:" + Path("wrap.key"); }

  EncryptCommandOptions Encrypt() const {
    EncryptCommandOptions o;
    o.input = Path("pt");
    o.output = Path("ct");
    o.wrapping_keys = {Spec()};
    o.encryption_context = {"tenant=acme", "request=r=1"};
    return o;
  }
  DecryptCommandOptions Decrypt() const {
    DecryptCommandOptions o;
    o.input = Path("ct");
    o.output = Path("out");
    o.wrapping_keys = {Spec()};
    return o;
  }
  bool Exists(const std::string& name) const {
    struct stat st {};
    return ::stat(Path(name).c_str(), &st) == 0;
  }
  std::string dir_;
};

TEST_F(CommandsTest, KeygenWritesPrivateFilesAndNeverOverwrites) {
  struct stat st {};
  ASSERT_EQ(::stat(Path("wrap.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  KeygenCommandOptions again;
  again.aes_bits = 256;
  again.out = Path("wrap.key");
  EXPECT_THAT(RunKeygen(again), StatusIs(absl::StatusCode::kAlreadyExists));
  again.aes_bits = 100;
  again.out = Path("other.key");
  EXPECT_TRUE(IsUsageError(RunKeygen(again)));
  again.rsa_bits = 2048;
  EXPECT_TRUE(IsUsageError(RunKeygen(again)));  // both --aes and --rsa
}

TEST_F(CommandsTest, RoundTripWithMetadata) {
  VEIL_ASSERT_OK(RunEncrypt(Encrypt()));
  DecryptCommandOptions d = Decrypt();
  d.encryption_context = {"tenant=acme"};
  d.metadata_output = Path("meta.json");
  VEIL_ASSERT_OK(RunDecrypt(d));
  std::ifstream out(Path("out"), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(out), {}), std::string(100000, 'p'));
  std::ifstream meta(Path("meta.json"));
  const std::string json(std::istreambuf_iterator<char>(meta), {});
  EXPECT_THAT(json, HasSubstr("\"suite\": \"0x0578\""));
  EXPECT_THAT(json, HasSubstr("\"request\": \"r=1\""));
  EXPECT_THAT(json, HasSubstr("\"frame_length\": 4096"));
  EXPECT_THAT(json, HasSubstr("\"message_id\": \""));
}

TEST_F(CommandsTest, RejectsBadEncryptFlagsAsUsageErrors) {
  auto with = [this](auto change) {
    EncryptCommandOptions o = Encrypt();
    change(o);
    return RunEncrypt(o);
  };
  for (const char* suite : {"0x0378", "0x0014", "0x9999", "abc"}) {
    EXPECT_TRUE(IsUsageError(with([&](auto& o) { o.algorithm_suite = suite; }))) << suite;
  }
  EXPECT_TRUE(IsUsageError(with([](auto& o) { o.frame_length = 0; })));
  EXPECT_TRUE(IsUsageError(with([](auto& o) { o.frame_length = 1ull << 32; })));
  EXPECT_TRUE(
      IsUsageError(with([](auto& o) { o.commitment_policy = "forbid-encrypt-allow-decrypt"; })));
  EXPECT_TRUE(IsUsageError(with([](auto& o) { o.commitment_policy = "lax"; })));
  EXPECT_TRUE(IsUsageError(with([](auto& o) { o.encryption_context = {"novalue"}; })));
  EXPECT_TRUE(IsUsageError(with([](auto& o) { o.encryption_context = {"a=1", "a=2"}; })));
  EXPECT_TRUE(
      IsUsageError(with([](auto& o) { o.required_encryption_context_keys = {"missing"}; })));
  EXPECT_TRUE(IsUsageError(with([this](auto& o) { o.output = Path("pt"); })));
  EXPECT_FALSE(Exists("ct"));
  VEIL_EXPECT_OK(with([](auto& o) { o.algorithm_suite = "0x0478"; }));
}

TEST_F(CommandsTest, MaxEncryptedDataKeysIsEnforced) {
  EncryptCommandOptions e = Encrypt();
  e.wrapping_keys = {Spec(), Spec()};
  e.max_encrypted_data_keys = 1;
  EXPECT_FALSE(RunEncrypt(e).ok());
  EXPECT_FALSE(Exists("ct"));
  e.max_encrypted_data_keys = 2;
  VEIL_ASSERT_OK(RunEncrypt(e));
  DecryptCommandOptions d = Decrypt();
  d.max_encrypted_data_keys = 1;
  EXPECT_FALSE(RunDecrypt(d).ok());
  EXPECT_FALSE(Exists("out"));
}

TEST_F(CommandsTest, RefuseSignedRefusesTheDefaultSuite) {
  VEIL_ASSERT_OK(RunEncrypt(Encrypt()));
  DecryptCommandOptions d = Decrypt();
  d.refuse_signed = true;
  EXPECT_FALSE(RunDecrypt(d).ok());
  EXPECT_FALSE(Exists("out"));
}

TEST_F(CommandsTest, RequiredContextKeyMustBeReproduced) {
  EncryptCommandOptions e = Encrypt();
  e.required_encryption_context_keys = {"tenant"};
  VEIL_ASSERT_OK(RunEncrypt(e));
  DecryptCommandOptions d = Decrypt();
  EXPECT_FALSE(RunDecrypt(d).ok());
  d.required_encryption_context_keys = {"tenant"};
  EXPECT_TRUE(IsUsageError(RunDecrypt(d)));
  d.encryption_context = {"tenant=acme"};
  VEIL_EXPECT_OK(RunDecrypt(d));
}

TEST_F(CommandsTest, MetadataOutputConflictsAreUsageErrors) {
  DecryptCommandOptions d = Decrypt();
  d.output = "-";
  d.metadata_output = "-";
  EXPECT_TRUE(IsUsageError(RunDecrypt(d)));
  d = Decrypt();
  d.metadata_output = d.output;
  EXPECT_TRUE(IsUsageError(RunDecrypt(d)));
}

TEST_F(CommandsTest, FailedMetadataWriteRemovesTheOutput) {
  VEIL_ASSERT_OK(RunEncrypt(Encrypt()));
  DecryptCommandOptions d = Decrypt();
  d.metadata_output = Path("no-such-dir/meta.json");
  EXPECT_FALSE(RunDecrypt(d).ok());
  EXPECT_FALSE(Exists("out"));
}

}  // namespace
}  // namespace veil::client
