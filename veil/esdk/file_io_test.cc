#include "veil/esdk/file_io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/testing/status_matchers.h"

namespace veil::esdk {
namespace {

namespace fs = std::filesystem;
using ::testing::UnorderedElementsAre;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131) ^ (i >> 9));
  return v;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Names of all entries in `dir` (temporary files start with '.').
std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// Redirect points `target_fd` (0 or 1) at `path` until destroyed.
class Redirect {
 public:
  Redirect(int target_fd, const std::string& path, int flags) : target_(target_fd) {
    std::fflush(stdout);
    saved_ = ::dup(target_fd);
    const int fd = ::open(path.c_str(), flags, 0600);
    EXPECT_GE(fd, 0) << path;
    ::dup2(fd, target_fd);
    ::close(fd);
  }
  ~Redirect() {
    ::dup2(saved_, target_);
    ::close(saved_);
  }

 private:
  int target_;
  int saved_;
};

class FileIoTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/veil_file_io_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    auto keyring = RawAesKeyring::Create("veil-test", "file-key",
                                         SecretBytes::Copy(std::vector<uint8_t>(32, 0x42)));
    ASSERT_TRUE(keyring.ok());
    cmm_ = DefaultCmm::Create(std::shared_ptr<const Keyring>(std::move(keyring).value()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  EncryptOptions Options(uint32_t frame_length) const {
    EncryptOptions o;
    o.suite_id = GetParam();
    o.frame_length = frame_length;
    o.encryption_context = {{"tenant", "acme"}};
    return o;
  }

  // Bytes after the final frame: the footer of signed suites.
  size_t FooterLength() const { return GetParam() == kSuite0578 ? 2 + 103 : 0; }

  // Encrypts `size` pattern bytes into "ct" and returns the plaintext.
  std::vector<uint8_t> MakeCiphertext(size_t size, uint32_t frame_length) {
    const auto plaintext = Pattern(size);
    WriteBytes(Path("pt"), plaintext);
    EXPECT_THAT(EncryptStream(*cmm_, Path("pt"), Path("ct"), Options(frame_length)),
                ::veil::testing::IsOk());
    fs::remove(Path("pt"));
    return plaintext;
  }

  std::string dir_;
  std::unique_ptr<CryptoMaterialsManager> cmm_;
};

TEST_P(FileIoTest, RoundTripsFiveMiBWithSmallFrames) {
  const auto plaintext = Pattern(5 * 1024 * 1024 + 17);
  WriteBytes(Path("in"), plaintext);
  VEIL_ASSERT_OK(EncryptStream(*cmm_, Path("in"), Path("in.veil"), Options(1000)));
  MessageInfo info;
  VEIL_ASSERT_OK(DecryptStream(*cmm_, Path("in.veil"), Path("out"), DecryptOptions(), &info));

  EXPECT_EQ(ReadBytes(Path("out")), plaintext);
  EXPECT_EQ(info.suite_id, GetParam());
  EXPECT_EQ(info.frame_length, 1000u);
  EXPECT_EQ(info.encryption_context.at("tenant"), "acme");
  EXPECT_EQ(info.message_id.size(), 32u);
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("in", "in.veil", "out"));
  struct stat st {};
  ASSERT_EQ(::stat(Path("out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_P(FileIoTest, RoundTripsEmptyFile) {
  const auto plaintext = MakeCiphertext(0, 4096);
  VEIL_ASSERT_OK(DecryptStream(*cmm_, Path("ct"), Path("out"), DecryptOptions(), nullptr));
  EXPECT_EQ(ReadBytes(Path("out")), plaintext);
}

TEST_P(FileIoTest, ReplacesAnExistingOutputOnSuccess) {
  const auto plaintext = MakeCiphertext(10000, 512);
  WriteBytes(Path("out"), {'o', 'l', 'd'});
  VEIL_ASSERT_OK(DecryptStream(*cmm_, Path("ct"), Path("out"), DecryptOptions(), nullptr));
  EXPECT_EQ(ReadBytes(Path("out")), plaintext);
}

TEST_P(FileIoTest, TamperedLastFrameLeavesNoOutput) {
  MakeCiphertext(300000, 4096);
  auto ct = ReadBytes(Path("ct"));
  // A byte of the final frame's ciphertext, just before its 16-byte tag.
  ct[ct.size() - FooterLength() - 20] ^= 0x01;
  WriteBytes(Path("ct"), ct);

  MessageInfo info;
  info.frame_length = 77;
  EXPECT_THAT(DecryptStream(*cmm_, Path("ct"), Path("out"), DecryptOptions(), &info),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(info.frame_length, 77u) << "out_info written on failure";
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("ct"));
}

TEST_P(FileIoTest, TamperedMessageLeavesExistingOutputUntouched) {
  MakeCiphertext(300000, 4096);
  auto ct = ReadBytes(Path("ct"));
  ct[ct.size() - FooterLength() - 1] ^= 0x80;  // the final frame's tag
  WriteBytes(Path("ct"), ct);
  WriteBytes(Path("out"), {'o', 'l', 'd'});

  EXPECT_FALSE(DecryptStream(*cmm_, Path("ct"), Path("out"), DecryptOptions(), nullptr).ok());
  EXPECT_EQ(ReadBytes(Path("out")), (std::vector<uint8_t>{'o', 'l', 'd'}));
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("ct", "out"));
}

TEST_P(FileIoTest, TruncatedMessageLeavesNoOutput) {
  MakeCiphertext(300000, 4096);
  const auto ct = ReadBytes(Path("ct"));
  for (size_t cut : {size_t{1}, FooterLength() + 1, ct.size() / 2, ct.size() - 1}) {
    SCOPED_TRACE(cut);
    WriteBytes(Path("cut"), std::vector<uint8_t>(ct.begin(), ct.end() - static_cast<long>(cut)));
    EXPECT_FALSE(DecryptStream(*cmm_, Path("cut"), Path("out"), DecryptOptions(), nullptr).ok());
    EXPECT_THAT(Entries(dir_), UnorderedElementsAre("ct", "cut"));
  }
}

TEST_P(FileIoTest, AppendedByteLeavesNoOutput) {
  MakeCiphertext(5000, 4096);
  auto ct = ReadBytes(Path("ct"));
  ct.push_back(0);
  WriteBytes(Path("ct"), ct);
  EXPECT_FALSE(DecryptStream(*cmm_, Path("ct"), Path("out"), DecryptOptions(), nullptr).ok());
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("ct"));
}

TEST_P(FileIoTest, WrongReproducedContextLeavesNoOutput) {
  MakeCiphertext(5000, 4096);
  DecryptOptions options;
  options.reproduced_encryption_context = {{"tenant", "other"}};
  EXPECT_FALSE(DecryptStream(*cmm_, Path("ct"), Path("out"), options, nullptr).ok());
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("ct"));
}

TEST_P(FileIoTest, FailedEncryptLeavesNoOutput) {
  WriteBytes(Path("in"), Pattern(1000));
  EncryptOptions options = Options(4096);
  options.encryption_context = {{"aws-crypto-reserved", "x"}};
  EXPECT_FALSE(EncryptStream(*cmm_, Path("in"), Path("ct"), options).ok());
  options = Options(0);
  EXPECT_FALSE(EncryptStream(*cmm_, Path("in"), Path("ct"), options).ok());
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("in"));
}

TEST_P(FileIoTest, RefusesOutputThatIsTheInput) {
  const auto plaintext = Pattern(1000);
  WriteBytes(Path("in"), plaintext);
  ASSERT_EQ(::link(Path("in").c_str(), Path("alias").c_str()), 0);
  EXPECT_THAT(EncryptStream(*cmm_, Path("in"), Path("in"), Options(4096)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EncryptStream(*cmm_, Path("in"), Path("alias"), Options(4096)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptStream(*cmm_, Path("in"), dir_ + "/./in", DecryptOptions(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ReadBytes(Path("in")), plaintext);
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("in", "alias"));
}

TEST_P(FileIoTest, ReportsMissingInputAndOutputDirectory) {
  EXPECT_THAT(EncryptStream(*cmm_, Path("absent"), Path("ct"), Options(4096)),
              StatusIs(absl::StatusCode::kNotFound));
  WriteBytes(Path("in"), Pattern(10));
  EXPECT_THAT(EncryptStream(*cmm_, Path("in"), Path("no-such-dir/ct"), Options(4096)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(EncryptStream(*cmm_, dir_, Path("ct"), Options(4096)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Entries(dir_), UnorderedElementsAre("in"));
}

TEST_P(FileIoTest, StdinAndStdoutRoundTrip) {
  const auto plaintext = Pattern(200000);
  WriteBytes(Path("pt"), plaintext);
  {
    Redirect in(STDIN_FILENO, Path("pt"), O_RDONLY);
    Redirect out(STDOUT_FILENO, Path("ct"), O_WRONLY | O_CREAT | O_TRUNC);
    VEIL_ASSERT_OK(EncryptStream(*cmm_, kStdioPath, kStdioPath, Options(4096)));
  }
  {
    Redirect in(STDIN_FILENO, Path("ct"), O_RDONLY);
    Redirect out(STDOUT_FILENO, Path("out"), O_WRONLY | O_CREAT | O_TRUNC);
    VEIL_ASSERT_OK(DecryptStream(*cmm_, kStdioPath, kStdioPath, DecryptOptions(), nullptr));
  }
  EXPECT_EQ(ReadBytes(Path("out")), plaintext);
}

TEST_P(FileIoTest, StdoutReceivesNothingWhenTheMessageFails) {
  MakeCiphertext(300000, 4096);
  auto ct = ReadBytes(Path("ct"));
  ct[ct.size() - FooterLength() - 1] ^= 0x01;
  WriteBytes(Path("ct"), ct);
  {
    Redirect out(STDOUT_FILENO, Path("out"), O_WRONLY | O_CREAT | O_TRUNC);
    EXPECT_FALSE(DecryptStream(*cmm_, Path("ct"), kStdioPath, DecryptOptions(), nullptr).ok());
  }
  EXPECT_TRUE(ReadBytes(Path("out")).empty());
}

INSTANTIATE_TEST_SUITE_P(Suites, FileIoTest, ::testing::Values(kSuite0478, kSuite0578),
                         [](const ::testing::TestParamInfo<uint16_t>& info) {
                           return info.param == kSuite0578 ? std::string("Suite0578")
                                                           : std::string("Suite0478");
                         });

}  // namespace
}  // namespace veil::esdk
