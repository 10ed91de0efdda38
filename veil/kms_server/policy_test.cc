#include "veil/kms_server/policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

using ::veil::testing::StatusIs;

constexpr char kAccount[] = "111122223333";
constexpr char kAlice[] = "arn:aws:iam::111122223333:user/alice";
constexpr char kRole[] = "arn:aws:iam::111122223333:role/instance-role";
constexpr char kKeyArn[] =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const std::string kPcr0(96, 'a');

RequestContext Request(const std::string& action, const std::string& principal = kAlice) {
  RequestContext r;
  r.action = action;
  r.principal_arn = principal;
  r.principal_account = principal.substr(13, 12);
  r.resource_arn = kKeyArn;
  r.AddConditionKey("kms:CallerAccount", {r.principal_account});
  return r;
}

std::shared_ptr<const Policy> MustParse(const std::string& doc) {
  auto p = Policy::Parse(doc);
  EXPECT_TRUE(p.ok()) << p.status() << "\n" << doc;
  return p.ok() ? *p : nullptr;
}

// A policy with one Allow statement for `principal` on `actions` under
// `condition` (a JSON object, possibly empty).
std::string AllowWith(const std::string& condition,
                      const std::string& actions = R"("kms:Decrypt")",
                      const std::string& principal = kRole) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
         principal + R"("},"Action":)" + actions + R"(,"Resource":"*","Condition":)" + condition +
         "}]}";
}

TEST(PolicyTest, DefaultPolicyAllowsEveryPrincipalOfTheAccountOnly) {
  auto p = MustParse(DefaultKeyPolicy(kAccount));
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt")), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:PutKeyPolicy", kRole)), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", "arn:aws:iam::999999999999:user/mallory")),
            Decision::kImplicitDeny);
}

TEST(PolicyTest, ExplicitDenyWinsOverAllow) {
  auto p = MustParse(R"({"Statement":[
    {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
    {"Effect":"Deny","Principal":{"AWS":")" + std::string(kAlice) +
                     R"("},"Action":"kms:Decrypt","Resource":"*"}]})");
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt")), Decision::kExplicitDeny);
  EXPECT_EQ(p->Evaluate(Request("kms:Encrypt")), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", kRole)), Decision::kAllow);
}

TEST(PolicyTest, DenyWinsRegardlessOfStatementOrder) {
  auto p = MustParse(R"({"Statement":[
    {"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"},
    {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]})");
  EXPECT_EQ(p->Evaluate(Request("kms:Encrypt")), Decision::kExplicitDeny);
}

TEST(PolicyTest, NoMatchingStatementIsImplicitDeny) {
  auto p = MustParse(AllowWith("{}", R"("kms:Encrypt")"));
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", kRole)), Decision::kImplicitDeny);
  EXPECT_EQ(p->Evaluate(Request("kms:Encrypt", kRole)), Decision::kAllow);
}

TEST(PolicyTest, ActionsMatchWildcardsCaseInsensitively) {
  auto p = MustParse(AllowWith("{}", R"(["kms:Generate*","KMS:describekey"])"));
  EXPECT_EQ(p->Evaluate(Request("kms:GenerateDataKey", kRole)), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:GenerateDataKeyWithoutPlaintext", kRole)), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:DescribeKey", kRole)), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", kRole)), Decision::kImplicitDeny);
}

TEST(PolicyTest, NotActionAndResourceMatching) {
  auto p = MustParse(R"({"Statement":[{"Effect":"Allow","Principal":"*",
    "NotAction":"kms:ScheduleKeyDeletion","Resource":"arn:aws:kms:*:111122223333:key/*"}]})");
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt")), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:ScheduleKeyDeletion")), Decision::kImplicitDeny);
  RequestContext other = Request("kms:Decrypt");
  other.resource_arn = "arn:aws:kms:us-east-1:999999999999:key/x";
  EXPECT_EQ(p->Evaluate(other), Decision::kImplicitDeny);
}

TEST(PolicyTest, PrincipalForms) {
  for (const std::string& principal :
       {std::string(kAccount), std::string("arn:aws:iam::111122223333:root")}) {
    auto p = MustParse(AllowWith("{}", R"("kms:Decrypt")", principal));
    EXPECT_EQ(p->Evaluate(Request("kms:Decrypt")), Decision::kAllow) << principal;
  }
  auto p = MustParse(AllowWith("{}", R"("kms:Decrypt")", kRole));
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", kRole)), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", kAlice)), Decision::kImplicitDeny);
}

TEST(PolicyTest, StringEqualsOnEncryptionContext) {
  auto p = MustParse(AllowWith(R"({"StringEquals":{"kms:EncryptionContext:tenant":"acme"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny) << "context key absent";
  r.AddConditionKey("kms:EncryptionContext:tenant", {"globex"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny) << "wrong encryption context";
  r.AddConditionKey("kms:EncryptionContext:tenant", {"ACME"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny) << "StringEquals is case-sensitive";
  r.AddConditionKey("kms:EncryptionContext:tenant", {"acme"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, ConditionKeyNamesAreCaseInsensitive) {
  auto p = MustParse(AllowWith(R"({"StringEquals":{"KMS:encryptioncontext:Tenant":"acme"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContext:tenant", {"acme"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, PolicyValuesAreAlternatives) {
  auto p = MustParse(
      AllowWith(R"({"StringEquals":{"kms:EncryptionContext:tenant":["acme","globex"]}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContext:tenant", {"globex"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, KeysAndOperatorsAreConjunctive) {
  auto p = MustParse(AllowWith(R"({"StringEquals":{"kms:EncryptionContext:tenant":"acme",
      "kms:EncryptionContext:purpose":"ml-inference"},
      "StringLike":{"kms:EncryptionContext:request":"req-*"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContext:tenant", {"acme"});
  r.AddConditionKey("kms:EncryptionContext:purpose", {"ml-inference"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("kms:EncryptionContext:request", {"req-42"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContext:purpose", {"training"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
}

TEST(PolicyTest, StringEqualsIgnoreCaseOnAttestedImage) {
  auto p = MustParse(AllowWith(
      R"({"StringEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":")" +
      std::string(96, 'A') + R"("}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny) << "no Recipient, no attestation keys";
  r.AddConditionKey("kms:RecipientAttestation:ImageSha384", {kPcr0});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, PcrMismatchIsRefused) {
  auto p = MustParse(AllowWith(R"({"StringEqualsIgnoreCase":{
      "kms:RecipientAttestation:PCR0":")" + kPcr0 + R"(",
      "kms:RecipientAttestation:PCR8":")" + std::string(96, 'b') + R"("}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:RecipientAttestation:PCR0", {kPcr0});
  r.AddConditionKey("kms:RecipientAttestation:PCR8", {std::string(95, 'b') + "c"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("kms:RecipientAttestation:PCR8", {std::string(96, 'b')});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:RecipientAttestation:PCR0", {std::string(96, '0')});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
}

TEST(PolicyTest, StringLikeWildcards) {
  auto p = MustParse(AllowWith(R"({"StringLike":{"kms:EncryptionContext:path":"tenants/*/img?.jpg"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContext:path", {"tenants/acme/img1.jpg"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContext:path", {"tenants/acme/img12.jpg"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("kms:EncryptionContext:path", {"TENANTS/acme/img1.jpg"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
}

TEST(PolicyTest, BoolOperator) {
  auto p = MustParse(AllowWith(R"({"Bool":{"aws:SecureTransport":true}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("aws:SecureTransport", {"false"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("aws:SecureTransport", {"true"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, CallerAccount) {
  auto p = MustParse(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*",
      "Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]})");
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt")), Decision::kAllow);
  EXPECT_EQ(p->Evaluate(Request("kms:Decrypt", "arn:aws:iam::444455556666:user/bob")),
            Decision::kImplicitDeny);
}

TEST(PolicyTest, ForAllValuesOnEncryptionContextKeys) {
  auto p = MustParse(AllowWith(
      R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["tenant","request"]}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContextKeys", {"tenant"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContextKeys", {"tenant", "request"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContextKeys", {"tenant", "debug"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  // IAM: ForAllValues is vacuously true for an empty set.
  r.AddConditionKey("kms:EncryptionContextKeys", {});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, ForAnyValueOnEncryptionContextKeys) {
  auto p = MustParse(AllowWith(
      R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"tenant"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  r.AddConditionKey("kms:EncryptionContextKeys", {"purpose", "tenant"});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContextKeys", {"purpose"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("kms:EncryptionContextKeys", {});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
}

// Spec brief 4.5: a negated operator in a Deny applies when the key is
// missing, so a Deny "unless attested" also denies requests without a
// Recipient.
TEST(PolicyTest, NegatedDenyAppliesWhenKeyIsMissing) {
  auto p = MustParse(R"({"Statement":[
    {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
    {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringNotEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":")" +
                         kPcr0 + R"("}}}]})");
  RequestContext r = Request("kms:Decrypt");
  EXPECT_EQ(p->Evaluate(r), Decision::kExplicitDeny) << "no attestation";
  r.AddConditionKey("kms:RecipientAttestation:ImageSha384", {std::string(96, 'c')});
  EXPECT_EQ(p->Evaluate(r), Decision::kExplicitDeny) << "wrong image";
  r.AddConditionKey("kms:RecipientAttestation:ImageSha384", {std::string(96, 'A')});
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
}

TEST(PolicyTest, IfExistsAndNull) {
  auto p = MustParse(AllowWith(
      R"({"StringEqualsIfExists":{"kms:EncryptionContext:tenant":"acme"},
          "Null":{"kms:EncryptionContext:debug":"true"}})"));
  RequestContext r = Request("kms:Decrypt", kRole);
  EXPECT_EQ(p->Evaluate(r), Decision::kAllow);
  r.AddConditionKey("kms:EncryptionContext:tenant", {"globex"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
  r.AddConditionKey("kms:EncryptionContext:tenant", {"acme"});
  r.AddConditionKey("kms:EncryptionContext:debug", {"1"});
  EXPECT_EQ(p->Evaluate(r), Decision::kImplicitDeny);
}

TEST(PolicyTest, RejectsMalformedDocuments) {
  const std::string bad[] = {
      "",
      "[]",
      "{not json",
      R"({"Version":"2012-10-17"})",
      R"({"Statement":[]})",
      R"({"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
          "Condition":{"NumericLessThan":{"kms:x":"1"}}}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
          "Extra":1}]})",
      R"({"Version":"2020-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]})",
      std::string(kMaxPolicySize + 1, ' '),
  };
  for (const std::string& doc : bad) {
    EXPECT_THAT(Policy::Parse(doc), StatusIs(absl::StatusCode::kInvalidArgument)) << doc;
  }
}

TEST(PolicyTest, WildcardMatch) {
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYc", false));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY", false));
  EXPECT_TRUE(WildcardMatch("a?c", "abc", false));
  EXPECT_FALSE(WildcardMatch("a?c", "ac", false));
  EXPECT_TRUE(WildcardMatch("KMS:*", "kms:Decrypt", true));
  EXPECT_FALSE(WildcardMatch("KMS:*", "kms:Decrypt", false));
  // Pathological patterns stay fast.
  EXPECT_FALSE(WildcardMatch(std::string(200, '*') + "b", std::string(5000, 'a'), false));
}

}  // namespace
}  // namespace veil::kms_server
