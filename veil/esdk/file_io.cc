#include "veil/esdk/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"

namespace veil::esdk {
namespace {

absl::Status IoError(int err, absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

// Fd closes the descriptor it owns; stdin and stdout are borrowed.
class Fd {
 public:
  Fd() = default;
  Fd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)), owned_(other.owned_) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
      owned_ = other.owned_;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  // Close closes an owned descriptor and reports the error close(2) gives
  // (on some file systems the last write error only shows up here).
  int Close() {
    int rc = 0;
    if (owned_ && fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  void Reset() {
    if (owned_ && fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  bool owned_ = false;
};

// ReadSome reads up to buf.size() bytes; 0 means end of input.
absl::StatusOr<size_t> ReadSome(int fd, absl::Span<uint8_t> buf, const std::string& name) {
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoError(errno, "cannot read", name);
  }
}

// WriteAll writes every byte, retrying short writes and EINTR.
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

std::string DisplayName(const std::string& path, const char* stdio_name) {
  return path == kStdioPath ? stdio_name : path;
}

struct Input {
  Fd fd;
  std::string name;
  struct stat st {};
  // The number of bytes left to read, when the input is a regular file.
  std::optional<uint64_t> size;
};

absl::StatusOr<Input> OpenInput(const std::string& path) {
  Input in;
  in.name = DisplayName(path, "stdin");
  if (path.empty()) return absl::InvalidArgumentError("the input path is empty");
  if (path == kStdioPath) {
    in.fd = Fd(STDIN_FILENO, /*owned=*/false);
  } else {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError(errno, "cannot open input", path);
    in.fd = Fd(fd, /*owned=*/true);
  }
  if (::fstat(in.fd.get(), &in.st) != 0) return IoError(errno, "cannot stat input", in.name);
  if (S_ISDIR(in.st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("input ", in.name, " is a directory"));
  }
  if (S_ISREG(in.st.st_mode)) {
    // stdin may be a file whose offset is not at the start.
    const off_t offset = ::lseek(in.fd.get(), 0, SEEK_CUR);
    if (offset >= 0 && offset <= in.st.st_size) {
      in.size = static_cast<uint64_t>(in.st.st_size - offset);
    }
  }
  return in;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// AtomicOutput collects the output in a temporary file and publishes it
// only in Commit: by rename(2) for a named output, by copying an unlinked
// spool file for stdout. Destroying it uncommitted removes every trace.
class AtomicOutput {
 public:
  static absl::StatusOr<std::unique_ptr<AtomicOutput>> Open(const std::string& path,
                                                            const std::string& input_path,
                                                            const Input& input) {
    if (path.empty()) return absl::InvalidArgumentError("the output path is empty");
    if (path == kStdioPath) return OpenStdoutSpool();

    if (path == input_path) {
      return absl::InvalidArgumentError(
          absl::StrCat("the output ", path, " is the input; choose another output path"));
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if (st.st_dev == input.st.st_dev && st.st_ino == input.st.st_ino) {
        return absl::InvalidArgumentError(
            absl::StrCat("the output ", path, " is the input file; choose another output path"));
      }
      if (S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(absl::StrCat("the output ", path, " is a directory"));
      }
    }
    const std::string base = BaseName(path);
    if (base.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("the output ", path, " names a directory"));
    }
    // Keep the name below NAME_MAX whatever the output's name is.
    std::string temp = absl::StrCat(DirName(path), "/.", base.substr(0, 200), ".veil-tmp-XXXXXX");
    // mkostemp creates the file with mode 0600.
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) {
      return IoError(errno, "cannot create a temporary file in", DirName(path));
    }
    return std::unique_ptr<AtomicOutput>(new AtomicOutput(Fd(fd, true), path, std::move(temp)));
  }

  ~AtomicOutput() {
    out_.Close();
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  }

  absl::Status Write(absl::Span<const uint8_t> data) {
    return WriteAll(out_.get(), data, temp_path_.empty() ? "the stdout spool file" : temp_path_);
  }

  // Commit publishes the output. After a failed Commit nothing of a named
  // output exists; for stdout, part of the output may have been written.
  absl::Status Commit() {
    if (to_stdout_) return CopySpoolToStdout();
    if (::fsync(out_.get()) != 0) return IoError(errno, "cannot sync", temp_path_);
    if (out_.Close() != 0) return IoError(errno, "cannot close", temp_path_);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      return IoError(errno, "cannot rename the temporary file to", path_);
    }
    temp_path_.clear();
    // Make the rename durable; the output is in place either way, so a
    // failure here is not reported.
    const int dir = ::open(DirName(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return absl::OkStatus();
  }

 private:
  AtomicOutput(Fd out, std::string path, std::string temp_path)
      : out_(std::move(out)), path_(std::move(path)), temp_path_(std::move(temp_path)) {}

  static absl::StatusOr<std::unique_ptr<AtomicOutput>> OpenStdoutSpool() {
    const char* env = std::getenv("TMPDIR");
    const std::string dir = (env != nullptr && env[0] != '\0') ? env : "/tmp";
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      // No O_TMPFILE support in this file system: a named file, unlinked at once.
      std::string temp = absl::StrCat(dir, "/veil-spool-XXXXXX");
      fd = ::mkostemp(temp.data(), O_CLOEXEC);
      if (fd < 0) return IoError(errno, "cannot create a spool file in", dir);
      ::unlink(temp.c_str());
    }
    auto out = std::unique_ptr<AtomicOutput>(new AtomicOutput(Fd(fd, true), kStdioPath, ""));
    out->to_stdout_ = true;
    return out;
  }

  absl::Status CopySpoolToStdout() {
    if (::lseek(out_.get(), 0, SEEK_SET) != 0) {
      return IoError(errno, "cannot rewind", "the stdout spool file");
    }
    SecretBytes buf(kStreamChunkSize);
    for (;;) {
      VEIL_ASSIGN_OR_RETURN(size_t n,
                            ReadSome(out_.get(), buf.MutableExpose(), "the stdout spool file"));
      if (n == 0) break;
      absl::Status s = WriteAll(STDOUT_FILENO, buf.Expose().first(n), "stdout");
      SecureWipe(buf.MutableExpose().data(), n);
      VEIL_RETURN_IF_ERROR(s);
    }
    // Release the spooled bytes now rather than at exit.
    (void)::ftruncate(out_.get(), 0);
    out_.Close();
    return absl::OkStatus();
  }

  Fd out_;
  std::string path_;
  std::string temp_path_;  // empty for the (already unlinked) stdout spool
  bool to_stdout_ = false;
};

}  // namespace

absl::Status EncryptStream(CryptoMaterialsManager& cmm, const std::string& input_path,
                           const std::string& output_path, const EncryptOptions& options) {
  VEIL_ASSIGN_OR_RETURN(Input in, OpenInput(input_path));
  VEIL_ASSIGN_OR_RETURN(auto out, AtomicOutput::Open(output_path, input_path, in));
  VEIL_ASSIGN_OR_RETURN(auto encryptor, MessageEncryptor::Create(cmm, options, in.size));

  SecretBytes plaintext(kStreamChunkSize);
  std::vector<uint8_t> ciphertext;
  ciphertext.reserve(kStreamChunkSize);
  for (;;) {
    VEIL_ASSIGN_OR_RETURN(size_t n, ReadSome(in.fd.get(), plaintext.MutableExpose(), in.name));
    if (n == 0) break;
    absl::Status s = encryptor->Update(plaintext.Expose().first(n), &ciphertext);
    SecureWipe(plaintext.MutableExpose().data(), n);
    VEIL_RETURN_IF_ERROR(s);
    VEIL_RETURN_IF_ERROR(out->Write(ciphertext));
    ciphertext.clear();
  }
  VEIL_RETURN_IF_ERROR(encryptor->Finish(&ciphertext));
  VEIL_RETURN_IF_ERROR(out->Write(ciphertext));
  return out->Commit();
}

absl::Status DecryptStream(CryptoMaterialsManager& cmm, const std::string& input_path,
                           const std::string& output_path, const DecryptOptions& options,
                           MessageInfo* out_info) {
  VEIL_ASSIGN_OR_RETURN(Input in, OpenInput(input_path));
  VEIL_ASSIGN_OR_RETURN(auto out, AtomicOutput::Open(output_path, input_path, in));
  auto decryptor = MessageDecryptor::Create(cmm, options);

  std::vector<uint8_t> ciphertext(kStreamChunkSize);
  SecretBytes plaintext;
  for (;;) {
    VEIL_ASSIGN_OR_RETURN(size_t n, ReadSome(in.fd.get(), absl::MakeSpan(ciphertext), in.name));
    if (n == 0) break;
    // Released plaintext goes only to the temporary file, which becomes
    // visible after Finish; it is wiped from memory after each write.
    absl::Status s = decryptor->Update(absl::MakeConstSpan(ciphertext).first(n), &plaintext);
    if (s.ok()) s = out->Write(plaintext.Expose());
    plaintext.Clear();
    VEIL_RETURN_IF_ERROR(s);
  }
  absl::Status s = decryptor->Finish(&plaintext);
  if (s.ok()) s = out->Write(plaintext.Expose());
  plaintext.Clear();
  VEIL_RETURN_IF_ERROR(s);

  if (decryptor->info() == nullptr)
    return absl::InternalError("decryptor finished without a header");
  MessageInfo info = *decryptor->info();
  VEIL_RETURN_IF_ERROR(out->Commit());
  if (out_info != nullptr) *out_info = std::move(info);
  return absl::OkStatus();
}

}  // namespace veil::esdk
