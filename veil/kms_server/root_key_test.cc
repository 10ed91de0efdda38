#include "veil/kms_server/root_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

using ::veil::testing::StatusIs;

class RootKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-kms-root-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RootKeyTest, CreatesAKeyFileWithMode0600AndReloadsIt) {
  const std::string path = dir_ + "/root.key";
  VEIL_ASSERT_OK_AND_ASSIGN(auto first, RootKey::LoadOrCreate(path));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  VEIL_ASSERT_OK_AND_ASSIGN(auto sealed, first->Seal("ctx", AsBytes("secret")));
  VEIL_ASSERT_OK_AND_ASSIGN(auto second, RootKey::LoadOrCreate(path));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes opened, second->Open("ctx", sealed));
  EXPECT_EQ(AsStringView(opened.Expose()), "secret");
}

TEST_F(RootKeyTest, RefusesAKeyOthersCanRead) {
  const std::string path = dir_ + "/root.key";
  VEIL_ASSERT_OK(RootKey::LoadOrCreate(path));
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_THAT(RootKey::LoadOrCreate(path), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RootKeyTest, RefusesAShortKey) {
  const std::string path = dir_ + "/root.key";
  std::ofstream(path) << "short";
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_THAT(RootKey::LoadOrCreate(path), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RootKeyTest, SealedValuesAreBoundToContextAndKey) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, RootKey::FromBytes(SecretBytes(32)));
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, RootKey::LoadOrCreate(dir_ + "/other.key"));
  VEIL_ASSERT_OK_AND_ASSIGN(auto sealed, a->Seal("key/1", AsBytes("material")));
  EXPECT_THAT(a->Open("key/2", sealed), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(b->Open("key/1", sealed), StatusIs(absl::StatusCode::kUnauthenticated));
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto tampered = sealed;
    tampered[i] ^= 1;
    EXPECT_THAT(a->Open("key/1", tampered), StatusIs(absl::StatusCode::kUnauthenticated)) << i;
  }
  EXPECT_THAT(a->Open("key/1", absl::MakeSpan(sealed).first(27)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(RootKey::FromBytes(SecretBytes(16)), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::kms_server
