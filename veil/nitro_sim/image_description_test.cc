#include "veil/nitro_sim/image_description.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::nitro_sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

constexpr char kValid[] = R"({"format": "veil-enclave-image/1", "name": "veil-enclave",
  "version": "0.1.0", "binary": "veil-enclave",
  "files": ["model.json", "models/model.onnx", "enclave.json"], "config": "enclave.json"})";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

absl::Status ParseError(const std::string& json) {
  return ParseImageDescription(json, "/img").status();
}

TEST(ImageDescriptionTest, ParsesAndResolvesPathsAgainstTheDirectory) {
  VEIL_ASSERT_OK_AND_ASSIGN(EnclaveImageDescription d, ParseImageDescription(kValid, "/img"));
  EXPECT_EQ(d.name, "veil-enclave");
  EXPECT_EQ(d.version, "0.1.0");
  EXPECT_EQ(d.binary, "/img/veil-enclave");
  EXPECT_THAT(d.files,
              ElementsAre("/img/model.json", "/img/models/model.onnx", "/img/enclave.json"));
  EXPECT_EQ(d.config, "/img/enclave.json");
  EXPECT_THAT(d.Parts(), ElementsAre("/img/veil-enclave", "/img/model.json",
                                     "/img/models/model.onnx", "/img/enclave.json"));
}

TEST(ImageDescriptionTest, KeepsAbsolutePaths) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      EnclaveImageDescription d,
      ParseImageDescription(Replace(kValid, "\"binary\": \"veil-enclave\"",
                                    "\"binary\": \"/opt/veil/veil-enclave\""),
                            "/img"));
  EXPECT_EQ(d.binary, "/opt/veil/veil-enclave");
}

TEST(ImageDescriptionTest, RejectsMalformedJson) {
  EXPECT_THAT(ParseError("{"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseError("[]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseError(std::string(kValid) + "x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ImageDescriptionTest, RejectsUnknownMissingAndRepeatedKeysByName) {
  EXPECT_THAT(ParseError(Replace(kValid, "\"version\"", "\"extra\": 1, \"version\"")).message(),
              HasSubstr("\"extra\" is not a known key"));
  EXPECT_THAT(ParseError(Replace(kValid, "\"version\": \"0.1.0\",", "")).message(),
              HasSubstr("\"version\" is missing"));
  EXPECT_THAT(ParseError(Replace(kValid, "\"version\"", "\"name\": \"x\", \"version\"")).message(),
              HasSubstr("\"name\" appears more than once"));
}

TEST(ImageDescriptionTest, RejectsBadValuesNamingTheKey) {
  struct Case {
    std::string from, to, key;
  } cases[] = {
      {"veil-enclave-image/1", "veil-enclave-image/2", "\"format\""},
      {"\"name\": \"veil-enclave\"", "\"name\": \"\"", "\"name\""},
      {"\"name\": \"veil-enclave\"", "\"name\": \"a b\"", "\"name\""},
      {"\"name\": \"veil-enclave\"", "\"name\": 7", "\"name\""},
      {"\"0.1.0\"", "\"0.1.0/..\"", "\"version\""},
      {"\"binary\": \"veil-enclave\"", "\"binary\": \"\"", "\"binary\""},
      {"\"binary\": \"veil-enclave\"", "\"binary\": \"bin/..\"", "\"binary\""},
      {"\"binary\": \"veil-enclave\"", "\"binary\": [\"x\"]", "\"binary\""},
      {"[\"model.json\", \"models/model.onnx\", \"enclave.json\"]", "\"enclave.json\"",
       "\"files\""},
      {"[\"model.json\", \"models/model.onnx\", \"enclave.json\"]", "[]", "\"files\""},
      {"\"model.json\",", "\"model.json\", 3,", "\"files\""},
      {"\"config\": \"enclave.json\"", "\"config\": \"other.json\"", "\"config\""},
      {"\"config\": \"enclave.json\"", "\"config\": \"./enclave.json\"", "\"config\""},
      {"\"config\": \"enclave.json\"", "\"config\": null", "\"config\""},
  };
  for (const Case& c : cases) {
    const absl::Status s = ParseError(Replace(kValid, c.from, c.to));
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << c.to;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.key)) << c.to;
  }
}

TEST(ImageDescriptionTest, RequiresUniqueBaseNamesBinaryIncluded) {
  EXPECT_THAT(std::string(ParseError(Replace(kValid, "\"model.json\",",
                                             "\"model.json\", \"other/model.json\","))
                              .message()),
              HasSubstr("two parts named \"model.json\""));
  EXPECT_THAT(std::string(ParseError(Replace(kValid, "\"model.json\",",
                                             "\"model.json\", \"lib/veil-enclave\","))
                              .message()),
              HasSubstr("two parts named \"veil-enclave\""));
}

TEST(ImageDescriptionTest, BaseName) {
  EXPECT_EQ(BaseName("a/b.json"), "b.json");
  EXPECT_EQ(BaseName("b.json"), "b.json");
  EXPECT_EQ(BaseName("/x/y/"), "y");
  EXPECT_EQ(BaseName("/"), "");
}

TEST(ImageDescriptionTest, LoadReportsThePath) {
  EXPECT_THAT(LoadImageDescription("/nonexistent/image.json"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace veil::nitro_sim
