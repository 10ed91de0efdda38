#include "veil/attestation/nsm/measurement.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "veil/crypto/hash.h"

namespace veil::attestation::nsm {
namespace {

using crypto::HashAlgorithm;

constexpr size_t kReadChunk = 1 << 16;

PcrValue ToPcr(const std::vector<uint8_t>& digest) {
  PcrValue out{};
  std::memcpy(out.data(), digest.data(), out.size());
  return out;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

absl::StatusOr<PcrValue> HashFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    const int err = errno;
    const std::string what = absl::StrCat("cannot open ", path, " to measure it: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what) : absl::InternalError(what);
  }
  std::unique_ptr<crypto::IncrementalHash> hash = crypto::IncrementalHash::New(HashAlgorithm::kSha384);
  std::vector<uint8_t> buf(kReadChunk);
  for (;;) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) hash->Update(absl::MakeConstSpan(buf.data(), n));
    if (n < buf.size()) {
      if (std::ferror(f.get())) {
        return absl::InternalError(absl::StrCat("error reading ", path, " to measure it"));
      }
      break;
    }
  }
  return ToPcr(hash->Finish());
}

ImageMeasurement FromPartDigests(absl::Span<const PcrValue> digests) {
  ImageMeasurement m;
  for (size_t i = 0; i < digests.size(); ++i) {
    m.pcr0 = PcrExtend(m.pcr0, digests[i]);
    if (i == 0) {
      m.pcr1 = PcrExtend(m.pcr1, digests[i]);
    } else {
      m.pcr2 = PcrExtend(m.pcr2, digests[i]);
    }
  }
  return m;
}

}  // namespace

PcrValue PcrExtend(const PcrValue& pcr, absl::Span<const uint8_t> data) {
  std::unique_ptr<crypto::IncrementalHash> hash = crypto::IncrementalHash::New(HashAlgorithm::kSha384);
  hash->Update(pcr);
  hash->Update(data);
  return ToPcr(hash->Finish());
}

absl::StatusOr<ImageMeasurement> MeasureImageFiles(absl::Span<const std::string> paths) {
  if (paths.empty()) {
    return absl::InvalidArgumentError("an enclave image needs at least one part (the enclave binary)");
  }
  std::vector<PcrValue> digests;
  digests.reserve(paths.size());
  for (const std::string& path : paths) {
    absl::StatusOr<PcrValue> digest = HashFile(path);
    if (!digest.ok()) return digest.status();
    digests.push_back(*digest);
  }
  return FromPartDigests(digests);
}

absl::StatusOr<ImageMeasurement> MeasureImageParts(
    absl::Span<const absl::Span<const uint8_t>> parts) {
  if (parts.empty()) {
    return absl::InvalidArgumentError("an enclave image needs at least one part (the enclave binary)");
  }
  std::vector<PcrValue> digests;
  digests.reserve(parts.size());
  for (absl::Span<const uint8_t> part : parts) {
    digests.push_back(ToPcr(crypto::Digest(HashAlgorithm::kSha384, part)));
  }
  return FromPartDigests(digests);
}

PcrValue MeasureRoleArn(std::string_view role_arn) {
  return PcrExtend(ZeroPcr(), absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(role_arn.data()),
                                                  role_arn.size()));
}

PcrValue MeasureInstanceId(std::string_view instance_id) {
  return PcrExtend(ZeroPcr(), absl::MakeConstSpan(
                                  reinterpret_cast<const uint8_t*>(instance_id.data()),
                                  instance_id.size()));
}

std::array<PcrValue, kBootLockedPcrs> BootPcrs(const ImageMeasurement& image,
                                               std::string_view instance_id,
                                               std::optional<std::string_view> role_arn,
                                               bool debug) {
  std::array<PcrValue, kBootLockedPcrs> pcrs{};
  if (!debug) {
    pcrs[0] = image.pcr0;
    pcrs[1] = image.pcr1;
    pcrs[2] = image.pcr2;
  }
  if (role_arn.has_value()) pcrs[3] = MeasureRoleArn(*role_arn);
  pcrs[4] = MeasureInstanceId(instance_id);
  // PCR8 measures the EIF signing certificate; simulated images are unsigned.
  return pcrs;
}

std::optional<std::string> InstanceIdOfModuleId(std::string_view module_id) {
  const size_t pos = module_id.find("-enc");
  if (pos == std::string_view::npos) return std::nullopt;
  return std::string(module_id.substr(0, pos));
}

}  // namespace veil::attestation::nsm
