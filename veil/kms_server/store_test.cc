#include "veil/kms_server/store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

using ::veil::testing::StatusIs;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-kms-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/kms.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static KeyRecord Key(const std::string& id, const std::string& account = "111122223333") {
    KeyRecord k;
    k.key_id = id;
    k.account = account;
    k.region = "us-east-1";
    k.description = "test key";
    k.created_ms = 1000;
    k.policy = "{}";
    return k;
  }
  static KeyVersion Version(uint32_t v) { return KeyVersion{v, {1, 2, 3, static_cast<uint8_t>(v)}, 5}; }

  std::string dir_;
  std::string path_;
};

TEST_F(StoreTest, EverythingSurvivesReopen) {
  {
    VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
    VEIL_ASSERT_OK(store->AddPrincipal({"AKIDEXAMPLE", "arn:aws:iam::111122223333:user/a",
                                        "111122223333", {9, 9}, 7}));
    KeyRecord k = Key("k1");
    VEIL_ASSERT_OK(store->CreateKey(k, Version(1)));
    k.current_version = 2;
    k.rotation_enabled = true;
    VEIL_ASSERT_OK(store->AddKeyVersion(k, Version(2)));
    k.state = KeyState::kPendingDeletion;
    k.deletion_ms = 99;
    k.pending_window_days = 7;
    VEIL_ASSERT_OK(store->UpdateKey(k));
    VEIL_ASSERT_OK(store->CreateAlias({"111122223333", "alias/a", "k1", 1, 1}));
  }
  VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
  auto p = store->FindPrincipal("AKIDEXAMPLE");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->arn, "arn:aws:iam::111122223333:user/a");
  EXPECT_EQ(p->sealed_secret, (std::vector<uint8_t>{9, 9}));
  auto k = store->FindKey("k1");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->state, KeyState::kPendingDeletion);
  EXPECT_EQ(k->deletion_ms, 99);
  EXPECT_EQ(k->pending_window_days, 7);
  EXPECT_EQ(k->current_version, 2u);
  EXPECT_TRUE(k->rotation_enabled);
  ASSERT_TRUE(store->FindKeyVersion("k1", 1).has_value());
  EXPECT_EQ(store->FindKeyVersion("k1", 2)->sealed_material, Version(2).sealed_material);
  EXPECT_EQ(store->FindAlias("111122223333", "alias/a")->target_key_id, "k1");
}

TEST_F(StoreTest, DuplicatesAreAlreadyExists) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
  VEIL_ASSERT_OK(store->CreateKey(Key("k1"), Version(1)));
  EXPECT_THAT(store->CreateKey(Key("k1"), Version(1)), StatusIs(absl::StatusCode::kAlreadyExists));
  VEIL_ASSERT_OK(store->CreateAlias({"111122223333", "alias/a", "k1", 1, 1}));
  EXPECT_THAT(store->CreateAlias({"111122223333", "alias/a", "k1", 1, 1}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // The same name in another account is another alias.
  VEIL_EXPECT_OK(store->CreateAlias({"444455556666", "alias/a", "k1", 1, 1}));
}

TEST_F(StoreTest, AliasesAndListsAreScopedByAccount) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
  VEIL_ASSERT_OK(store->CreateKey(Key("k1"), Version(1)));
  VEIL_ASSERT_OK(store->CreateKey(Key("k2"), Version(1)));
  VEIL_ASSERT_OK(store->CreateKey(Key("k3", "444455556666"), Version(1)));
  VEIL_ASSERT_OK(store->CreateAlias({"111122223333", "alias/b", "k2", 1, 1}));
  VEIL_ASSERT_OK(store->CreateAlias({"111122223333", "alias/a", "k1", 1, 1}));
  VEIL_ASSERT_OK(store->CreateAlias({"444455556666", "alias/c", "k3", 1, 1}));
  EXPECT_EQ(store->ListKeys("111122223333", "us-east-1").size(), 2u);
  EXPECT_EQ(store->ListKeys("111122223333", "eu-west-1").size(), 0u);
  auto aliases = store->ListAliases("111122223333", "");
  ASSERT_EQ(aliases.size(), 2u);
  EXPECT_EQ(aliases[0].alias_name, "alias/a");
  EXPECT_EQ(store->ListAliases("111122223333", "k2").size(), 1u);
  VEIL_ASSERT_OK(store->UpdateAlias("111122223333", "alias/a", "k2", 5));
  EXPECT_EQ(store->ListAliases("111122223333", "k2").size(), 2u);
  VEIL_ASSERT_OK(store->DeleteAlias("111122223333", "alias/b"));
  EXPECT_THAT(store->DeleteAlias("111122223333", "alias/b"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->UpdateAlias("111122223333", "alias/zz", "k2", 5),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, DeleteKeyRemovesVersionsAndAliases) {
  {
    VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
    VEIL_ASSERT_OK(store->CreateKey(Key("k1"), Version(1)));
    VEIL_ASSERT_OK(store->CreateKey(Key("k2"), Version(1)));
    VEIL_ASSERT_OK(store->CreateAlias({"111122223333", "alias/a", "k1", 1, 1}));
    VEIL_ASSERT_OK(store->DeleteKey("k1"));
    EXPECT_FALSE(store->FindKey("k1").has_value());
    EXPECT_FALSE(store->FindKeyVersion("k1", 1).has_value());
    EXPECT_FALSE(store->FindAlias("111122223333", "alias/a").has_value());
  }
  VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
  EXPECT_FALSE(store->FindKey("k1").has_value());
  EXPECT_TRUE(store->FindKey("k2").has_value());
}

TEST_F(StoreTest, UsesWalWithFullSync) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto store, Store::Open(path_));
  VEIL_ASSERT_OK(store->CreateKey(Key("k1"), Version(1)));
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
}

}  // namespace
}  // namespace veil::kms_server
