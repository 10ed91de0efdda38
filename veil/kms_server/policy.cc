#include "veil/kms_server/policy.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/status_macros.h"

namespace veil::kms_server {

using Json = nlohmann::json;

namespace {

enum class Op {
  kStringEquals,
  kStringEqualsIgnoreCase,
  kStringLike,
  kBool,
  kNull,
};

enum class SetQualifier { kNone, kForAllValues, kForAnyValue };

}  // namespace

struct Policy::Statement {
  bool deny = false;
  std::vector<std::string> principals;  // "*", account ids, ARNs
  bool not_action = false;
  std::vector<std::string> actions;
  bool not_resource = false;
  std::vector<std::string> resources;
  struct Condition {
    Op op;
    bool negated = false;
    bool if_exists = false;
    SetQualifier set = SetQualifier::kNone;
    std::string key;  // case-folded
    std::vector<std::string> values;
  };
  std::vector<Condition> conditions;
};

namespace {

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(std::string(why));
}

// StringList reads a JSON string or list of strings (also numbers and
// booleans in Condition values, which IAM accepts and compares as strings).
absl::StatusOr<std::vector<std::string>> StringList(const Json& v, std::string_view field,
                                                    bool scalars_ok) {
  std::vector<std::string> out;
  auto one = [&](const Json& e) -> absl::Status {
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    } else if (scalars_ok && e.is_boolean()) {
      out.push_back(e.get<bool>() ? "true" : "false");
    } else if (scalars_ok && e.is_number_integer()) {
      out.push_back(std::to_string(e.get<int64_t>()));
    } else {
      return Malformed(absl::StrCat(std::string(field), " must be a string or a list of strings"));
    }
    return absl::OkStatus();
  };
  if (v.is_array()) {
    if (v.empty()) return Malformed(absl::StrCat(std::string(field), " must not be empty"));
    for (const Json& e : v) VEIL_RETURN_IF_ERROR(one(e));
  } else {
    VEIL_RETURN_IF_ERROR(one(v));
  }
  return out;
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) {
           return c >= '0' && c <= '9';
         });
}

absl::Status CheckPrincipal(std::string_view p) {
  if (p == "*" || IsAccountId(p)) return absl::OkStatus();
  // arn:aws:iam::<account>:root|user/...|role/..., arn:aws:sts::<account>:assumed-role/...
  if (p.starts_with("arn:aws:iam::") || p.starts_with("arn:aws:sts::")) {
    const std::string_view rest = p.substr(13);
    if (rest.size() > 13 && IsAccountId(rest.substr(0, 12)) && rest[12] == ':') {
      const std::string_view resource = rest.substr(13);
      if (resource == "root" || resource.starts_with("user/") || resource.starts_with("role/") ||
          resource.starts_with("assumed-role/")) {
        return absl::OkStatus();
      }
    }
  }
  return Malformed("Policy contains a statement with one or more invalid principals.");
}

absl::StatusOr<std::vector<std::string>> ParsePrincipal(const Json& v) {
  if (v.is_string()) {
    if (v.get<std::string>() != "*") {
      return Malformed("Principal must be \"*\" or an object such as {\"AWS\": ...}");
    }
    return std::vector<std::string>{"*"};
  }
  if (!v.is_object() || v.empty()) {
    return Malformed("Principal must be \"*\" or an object such as {\"AWS\": ...}");
  }
  std::vector<std::string> out;
  for (const auto& [kind, value] : v.items()) {
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> names, StringList(value, "Principal", false));
    if (kind == "AWS") {
      for (const std::string& n : names) VEIL_RETURN_IF_ERROR(CheckPrincipal(n));
      out.insert(out.end(), names.begin(), names.end());
    } else if (kind == "Service" || kind == "Federated" || kind == "CanonicalUser") {
      // Valid in AWS; no veil-kms caller is ever such a principal.
    } else {
      return Malformed(absl::StrCat("unknown principal type ", kind));
    }
  }
  return out;
}

absl::StatusOr<Policy::Statement::Condition> ParseOperator(std::string_view name) {
  Policy::Statement::Condition c{Op::kStringEquals};
  std::string_view op = name;
  if (op.starts_with("ForAllValues:")) {
    c.set = SetQualifier::kForAllValues;
    op.remove_prefix(13);
  } else if (op.starts_with("ForAnyValue:")) {
    c.set = SetQualifier::kForAnyValue;
    op.remove_prefix(12);
  }
  if (op.ends_with("IfExists")) {
    c.if_exists = true;
    op.remove_suffix(8);
  }
  if (op == "StringEquals") {
    c.op = Op::kStringEquals;
  } else if (op == "StringNotEquals") {
    c.op = Op::kStringEquals;
    c.negated = true;
  } else if (op == "StringEqualsIgnoreCase") {
    c.op = Op::kStringEqualsIgnoreCase;
  } else if (op == "StringNotEqualsIgnoreCase") {
    c.op = Op::kStringEqualsIgnoreCase;
    c.negated = true;
  } else if (op == "StringLike") {
    c.op = Op::kStringLike;
  } else if (op == "StringNotLike") {
    c.op = Op::kStringLike;
    c.negated = true;
  } else if (op == "Bool") {
    c.op = Op::kBool;
  } else if (op == "Null" && !c.if_exists && c.set == SetQualifier::kNone) {
    c.op = Op::kNull;
  } else {
    return Malformed(absl::StrCat("unsupported condition operator ", std::string(name)));
  }
  return c;
}

absl::StatusOr<Policy::Statement> ParseStatement(const Json& s) {
  if (!s.is_object()) return Malformed("each Statement must be an object");
  Policy::Statement out;
  bool have_effect = false, have_principal = false, have_action = false, have_resource = false;
  for (const auto& [field, value] : s.items()) {
    if (field == "Sid") {
      if (!value.is_string()) return Malformed("Sid must be a string");
    } else if (field == "Effect") {
      if (value == "Allow") {
        out.deny = false;
      } else if (value == "Deny") {
        out.deny = true;
      } else {
        return Malformed("Effect must be \"Allow\" or \"Deny\"");
      }
      have_effect = true;
    } else if (field == "Principal") {
      VEIL_ASSIGN_OR_RETURN(out.principals, ParsePrincipal(value));
      have_principal = true;
    } else if (field == "Action" || field == "NotAction") {
      if (have_action) return Malformed("a statement has both Action and NotAction");
      VEIL_ASSIGN_OR_RETURN(out.actions, StringList(value, field, false));
      out.not_action = field == "NotAction";
      have_action = true;
    } else if (field == "Resource" || field == "NotResource") {
      if (have_resource) return Malformed("a statement has both Resource and NotResource");
      VEIL_ASSIGN_OR_RETURN(out.resources, StringList(value, field, false));
      out.not_resource = field == "NotResource";
      have_resource = true;
    } else if (field == "Condition") {
      if (!value.is_object()) return Malformed("Condition must be an object");
      for (const auto& [op_name, block] : value.items()) {
        if (!block.is_object() || block.empty()) {
          return Malformed(absl::StrCat("Condition ", op_name, " must be a non-empty object"));
        }
        VEIL_ASSIGN_OR_RETURN(Policy::Statement::Condition proto, ParseOperator(op_name));
        for (const auto& [key, values] : block.items()) {
          Policy::Statement::Condition c = proto;
          c.key = absl::AsciiStrToLower(key);
          VEIL_ASSIGN_OR_RETURN(c.values, StringList(values, "a condition value", true));
          out.conditions.push_back(std::move(c));
        }
      }
    } else if (field == "NotPrincipal") {
      return Malformed("NotPrincipal is not supported in key policies");
    } else {
      return Malformed(absl::StrCat("unknown statement field ", field));
    }
  }
  if (!have_effect) return Malformed("a statement has no Effect");
  if (!have_principal) return Malformed("a statement has no Principal");
  if (!have_action) return Malformed("a statement has no Action");
  if (!have_resource) return Malformed("a statement has no Resource");
  return out;
}

bool PrincipalMatches(const std::vector<std::string>& principals, const RequestContext& r) {
  for (const std::string& p : principals) {
    if (p == "*") return true;
    if (p == r.principal_account) return true;
    if (p == absl::StrCat("arn:aws:iam::", r.principal_account, ":root")) return true;
    if (p == r.principal_arn) return true;
  }
  return false;
}

bool AnyWildcard(const std::vector<std::string>& patterns, std::string_view text,
                 bool ignore_case) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return WildcardMatch(p, text, ignore_case);
  });
}

bool ValueMatches(const Policy::Statement::Condition& c, const std::string& request_value) {
  for (const std::string& v : c.values) {
    bool match = false;
    switch (c.op) {
      case Op::kStringEquals:
        match = v == request_value;
        break;
      case Op::kStringEqualsIgnoreCase:
        match = absl::EqualsIgnoreCase(v, request_value);
        break;
      case Op::kStringLike:
        match = WildcardMatch(v, request_value, false);
        break;
      case Op::kBool:
        match = absl::EqualsIgnoreCase(v, request_value);
        break;
      case Op::kNull:
        break;
    }
    if (match) return true;
  }
  return false;
}

bool ConditionHolds(const Policy::Statement::Condition& c, const RequestContext& r) {
  auto it = r.condition_keys.find(c.key);
  const bool present = it != r.condition_keys.end();
  if (c.op == Op::kNull) {
    // "Null": "true" means the key must be absent, "false" present.
    const bool want_absent = !c.values.empty() && absl::EqualsIgnoreCase(c.values[0], "true");
    return want_absent != present;
  }
  // pred is the per-value test: for negated operators a request value
  // passes when no policy value matches it.
  auto pred = [&c](const std::string& value) { return ValueMatches(c, value) != c.negated; };
  switch (c.set) {
    case SetQualifier::kForAllValues:
      // Vacuously true for an absent key or an empty set (IAM semantics).
      if (!present) return true;
      return std::all_of(it->second.begin(), it->second.end(), pred);
    case SetQualifier::kForAnyValue:
      if (!present || it->second.empty()) return c.if_exists && !present;
      return std::any_of(it->second.begin(), it->second.end(), pred);
    case SetQualifier::kNone:
      break;
  }
  if (!present || it->second.empty()) {
    // A missing key fails a positive operator and satisfies a negated one;
    // ...IfExists makes it satisfied either way.
    return c.if_exists || c.negated;
  }
  if (c.negated) return std::all_of(it->second.begin(), it->second.end(), pred);
  return std::any_of(it->second.begin(), it->second.end(), pred);
}

bool StatementApplies(const Policy::Statement& s, const RequestContext& r) {
  if (!PrincipalMatches(s.principals, r)) return false;
  if (AnyWildcard(s.actions, r.action, /*ignore_case=*/true) == s.not_action) return false;
  if (AnyWildcard(s.resources, r.resource_arn, /*ignore_case=*/false) == s.not_resource) {
    return false;
  }
  return std::all_of(s.conditions.begin(), s.conditions.end(),
                     [&r](const auto& c) { return ConditionHolds(c, r); });
}

}  // namespace

void RequestContext::AddConditionKey(std::string_view name, std::vector<std::string> values) {
  condition_keys[absl::AsciiStrToLower(std::string(name))] = std::move(values);
}

Policy::Policy(std::vector<Statement> statements) : statements_(std::move(statements)) {}
Policy::~Policy() = default;

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Parse(std::string_view document) {
  if (document.size() > kMaxPolicySize) {
    return Malformed(absl::StrCat("policy is ", document.size(), " bytes; the limit is ",
                                  kMaxPolicySize));
  }
  const Json doc = Json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Malformed("policy is not a JSON object");
  std::vector<Statement> statements;
  bool have_statement = false;
  for (const auto& [field, value] : doc.items()) {
    if (field == "Version") {
      if (value != "2012-10-17" && value != "2008-10-17") {
        return Malformed("Version must be \"2012-10-17\" or \"2008-10-17\"");
      }
    } else if (field == "Id") {
      if (!value.is_string()) return Malformed("Id must be a string");
    } else if (field == "Statement") {
      have_statement = true;
      if (value.is_array()) {
        if (value.empty()) return Malformed("Statement must not be empty");
        for (const Json& s : value) {
          VEIL_ASSIGN_OR_RETURN(Statement st, ParseStatement(s));
          statements.push_back(std::move(st));
        }
      } else {
        VEIL_ASSIGN_OR_RETURN(Statement st, ParseStatement(value));
        statements.push_back(std::move(st));
      }
    } else {
      return Malformed(absl::StrCat("unknown policy field ", field));
    }
  }
  if (!have_statement) return Malformed("policy has no Statement");
  return std::shared_ptr<const Policy>(new Policy(std::move(statements)));
}

Decision Policy::Evaluate(const RequestContext& request) const {
  bool allowed = false;
  for (const Statement& s : statements_) {
    if (!StatementApplies(s, request)) continue;
    if (s.deny) return Decision::kExplicitDeny;
    allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

std::string DefaultKeyPolicy(std::string_view account) {
  const Json policy = {
      {"Version", "2012-10-17"},
      {"Id", "key-default-1"},
      {"Statement",
       Json::array({{{"Sid", "Enable IAM User Permissions"},
                     {"Effect", "Allow"},
                     {"Principal", {{"AWS", absl::StrCat("arn:aws:iam::", std::string(account),
                                                         ":root")}}},
                     {"Action", "kms:*"},
                     {"Resource", "*"}}})}};
  return policy.dump(2);
}

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  // Iterative glob with single-star backtracking: linear in practice and
  // never recursive, so a hostile pattern cannot exhaust the stack.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  auto eq = [ignore_case](char a, char b) {
    return ignore_case ? absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                             absl::ascii_tolower(static_cast<unsigned char>(b))
                       : a == b;
  };
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace veil::kms_server
