#include "veil/kms_server/root_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/random.h"

namespace veil::kms_server {
namespace {

absl::Status ErrnoStatus(std::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(what), " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<SecretBytes> ReadKeyFile(const std::string& path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("cannot stat", path);
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("root key ", path, " is readable by group or others (chmod 600 it)"));
  }
  if (st.st_size != static_cast<off_t>(kRootKeySize)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "root key ", path, " has ", st.st_size, " bytes; expected ", kRootKeySize));
  }
  SecretBytes key(kRootKeySize);
  size_t got = 0;
  while (got < kRootKeySize) {
    const ssize_t n = read(fd, key.MutableExpose().data() + got, kRootKeySize - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("cannot read", path);
    got += static_cast<size_t>(n);
  }
  return key;
}

absl::StatusOr<SecretBytes> CreateKeyFile(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kRootKeySize));
  // Written to a temporary name and renamed, so a crash never leaves a short
  // key file behind under the real name.
  const std::string tmp = absl::StrCat(path, ".tmp");
  unlink(tmp.c_str());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  size_t put = 0;
  while (put < kRootKeySize) {
    const ssize_t n = write(fd, key.Expose().data() + put, kRootKeySize - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return ErrnoStatus("cannot write", tmp);
    }
    put += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return ErrnoStatus("cannot fsync", tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("cannot rename to", path);
  return key;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RootKey>> RootKey::LoadOrCreate(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    auto key = ReadKeyFile(path, fd);
    close(fd);
    if (!key.ok()) return key.status();
    return FromBytes(std::move(*key));
  }
  if (errno != ENOENT) return ErrnoStatus("cannot open", path);
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, CreateKeyFile(path));
  return FromBytes(std::move(key));
}

absl::StatusOr<std::unique_ptr<RootKey>> RootKey::FromBytes(SecretBytes key) {
  if (key.size() != kRootKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("root key must be ", kRootKeySize, " bytes, got ", key.size()));
  }
  return std::unique_ptr<RootKey>(new RootKey(std::move(key)));
}

absl::StatusOr<std::vector<uint8_t>> RootKey::Seal(std::string_view context,
                                                   absl::Span<const uint8_t> plaintext) const {
  VEIL_ASSIGN_OR_RETURN(auto gcm, crypto::AesGcm::New(key_.Expose()));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> iv, crypto::RandomBytes(crypto::kGcmIvSize));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                        gcm->SealToVector(iv, AsBytes(context), plaintext));
  iv.insert(iv.end(), sealed.begin(), sealed.end());
  return iv;
}

absl::StatusOr<SecretBytes> RootKey::Open(std::string_view context,
                                          absl::Span<const uint8_t> sealed) const {
  if (sealed.size() < crypto::kGcmIvSize + crypto::kGcmTagSize) {
    return absl::UnauthenticatedError("sealed value too short");
  }
  VEIL_ASSIGN_OR_RETURN(auto gcm, crypto::AesGcm::New(key_.Expose()));
  auto opened = gcm->OpenToSecret(sealed.first(crypto::kGcmIvSize), AsBytes(context),
                                  sealed.subspan(crypto::kGcmIvSize));
  if (!opened.ok()) return absl::UnauthenticatedError("sealed value does not authenticate");
  return opened;
}

}  // namespace veil::kms_server
