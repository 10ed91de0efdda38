#include "veil/client/cli/local_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::client {
namespace {

absl::Status IoError(int err, absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

absl::Status WriteAll(int fd, absl::Span<const uint8_t> data, const std::string& name) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "cannot write", name);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// SyncAndClose fsyncs and closes `fd`, reporting the first error.
absl::Status SyncAndClose(int fd, const std::string& name) {
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced) return IoError(sync_errno, "cannot sync", name);
  if (!closed) return IoError(errno, "cannot close", name);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path, size_t max_len,
                                           const char* what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(errno, absl::StrCat("cannot open ", what), path);
  absl::Cleanup closer = [fd] { ::close(fd); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError(errno, absl::StrCat("cannot stat ", what), path);
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is a directory"));
  }
  // One byte of room beyond the limit tells "too long" from "exactly max".
  SecretBytes data(max_len + 1);
  size_t total = 0;
  while (total < data.size()) {
    const ssize_t n = ::read(fd, data.MutableExpose().data() + total, data.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, absl::StrCat("cannot read ", what), path);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  if (total > max_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is longer than ", max_len, " bytes"));
  }
  data.Resize(total);
  return data;
}

absl::Status WriteNewFile(const std::string& path, absl::Span<const uint8_t> data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists; refusing to overwrite it"));
    }
    return IoError(errno, "cannot create", path);
  }
  absl::Status s = WriteAll(fd, data, path);
  if (s.ok()) {
    s = SyncAndClose(fd, path);
  } else {
    ::close(fd);
  }
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

absl::Status WriteFileAtomically(const std::string& path, absl::Span<const uint8_t> data) {
  if (path == "-") return WriteAll(STDOUT_FILENO, data, "stdout");
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string temp = absl::StrCat(dir, "/.veil-tmp-XXXXXX");
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return IoError(errno, "cannot create a temporary file in", dir);
  absl::Cleanup remove_temp = [&temp] { ::unlink(temp.c_str()); };
  absl::Status s = WriteAll(fd, data, temp);
  // Not secret: readable like any new file (0666 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (s.ok() && ::fchmod(fd, 0666 & ~mask) != 0) s = IoError(errno, "cannot chmod", temp);
  if (s.ok()) {
    s = SyncAndClose(fd, temp);
  } else {
    ::close(fd);
  }
  VEIL_RETURN_IF_ERROR(s);
  if (::rename(temp.c_str(), path.c_str()) != 0) return IoError(errno, "cannot write", path);
  std::move(remove_temp).Cancel();
  return absl::OkStatus();
}

}  // namespace veil::client
