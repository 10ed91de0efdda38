#include "veil/nitro_sim/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/dev_nsm.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"
#include "veil/nitro_sim/launcher_process.h"

namespace veil::nitro_sim {
namespace {

namespace nsm = attestation::nsm;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxConsoleLine = 4096;

absl::Status Errno(std::string_view what, const std::string& path) {
  const int e = errno;
  const std::string message = absl::StrCat(std::string(what), " ", path, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(message);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

absl::StatusOr<std::string> Sha384OfFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Errno("cannot open", path);
  std::unique_ptr<crypto::IncrementalHash> h = crypto::IncrementalHash::New(
      crypto::HashAlgorithm::kSha384);
  std::vector<uint8_t> buf(kReadChunk);
  while (true) {
    const ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", path);
    if (n == 0) break;
    h->Update(absl::MakeConstSpan(buf.data(), static_cast<size_t>(n)));
  }
  return HexEncode(h->Finish());
}

// EnsurePrivateDir makes `path` a directory owned by us with `mode`,
// refusing a symlink or another owner's directory.
absl::Status EnsurePrivateDir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create", path);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Errno("cannot stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is owned by uid ", st.st_uid,
                                                      ", not by this user"));
  }
  if (chmod(path.c_str(), mode) != 0) return Errno("cannot chmod", path);
  return absl::OkStatus();
}

// RemoveImageCopy removes DIR/image as the launcher left it: a flat
// directory of regular files.
absl::Status RemoveImageCopy(const std::string& dir, const std::vector<std::string>& names) {
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return Errno("cannot stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  if (chmod(dir.c_str(), 0700) != 0) return Errno("cannot chmod", dir);
  for (const std::string& name : names) {
    const std::string p = absl::StrCat(dir, "/", name);
    if (unlink(p.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", p);
  }
  if (rmdir(dir.c_str()) != 0) {
    return Errno("cannot remove (does it hold files the launcher did not put there?)", dir);
  }
  return absl::OkStatus();
}

// CopyFile copies `from` to the new file `to` with `mode`, without
// following a symlink at `to`.
absl::Status CopyFile(const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return Errno("cannot open image part", from);
  struct stat st;
  if (fstat(in.get(), &st) != 0) return Errno("cannot stat", from);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("image part ", from, " is not a regular file"));
  }
  UniqueFd out(open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return Errno("cannot create", to);
  std::vector<uint8_t> buf(kReadChunk);
  while (true) {
    const ssize_t n = read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", from);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = write(out.get(), buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Errno("cannot write", to);
      done += w;
    }
  }
  if (fchmod(out.get(), mode) != 0) return Errno("cannot chmod", to);
  if (fsync(out.get()) != 0) return Errno("cannot sync", to);
  return absl::OkStatus();
}

void RemoveSocket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
}

int CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

void Banner(const LaunchOptions& o, const std::string& module_id, const MeasuredImage& image) {
  std::fprintf(stderr,
               "************************************************************************\n"
               "*  SIMULATED NITRO ENCLAVE -- THIS IS NOT AN AWS NITRO ENCLAVE          *\n"
               "*  The enclave is an ordinary process in a bubblewrap sandbox (Linux    *\n"
               "*  namespaces, no network, read-only files), not a hypervisor-isolated  *\n"
               "*  VM: this host's root can read its memory. Its attestation documents  *\n"
               "*  come from veil-nsm-sim, signed by a LOCAL SIMULATOR CA, and prove    *\n"
               "*  nothing about real hardware.                                         *\n"
               "************************************************************************\n");
  if (o.debug) {
    std::fprintf(stderr,
                 "*  DEBUG MODE: the enclave's console is shown below ([enclave] lines)   *\n"
                 "*  and its attestation documents carry PCR0 = 0 (as on Nitro): no key   *\n"
                 "*  policy that pins a real PCR0 will release keys to it.                *\n"
                 "************************************************************************\n");
  }
  std::fprintf(stderr, "veil-nitro-run: enclave %s module_id=%s debug=%s\n", o.image_path.c_str(),
               module_id.c_str(), o.debug ? "true" : "false");
  std::fprintf(stderr, "veil-nitro-run: PCR0=%s\n", HexEncode(image.measurement.pcr0).c_str());
}

// Console forwards the enclave's output, line by line, to stderr with an
// "[enclave] " prefix.
class Console {
 public:
  void Feed(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        Flush();
      } else {
        line_.push_back(data[i]);
        if (line_.size() >= kMaxConsoleLine) Flush();
      }
    }
  }
  void Flush() {
    std::fprintf(stderr, "[enclave] %s\n", line_.c_str());
    std::fflush(stderr);
    line_.clear();
  }
  void Finish() {
    if (!line_.empty()) Flush();
  }

 private:
  std::string line_;
};

// DrainConsole reads what is available on `fd` (non-blocking). Returns
// false at end of file.
bool DrainConsole(int fd, Console* console) {
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      if (console != nullptr) console->Feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

// ReadChildPid reads bubblewrap's --info-fd JSON (it closes the pipe after
// writing) and returns "child-pid": the sandbox's init, seen from the host.
absl::StatusOr<pid_t> ReadChildPid(int fd, absl::Duration timeout) {
  std::string info;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("bubblewrap did not report the sandbox's pid");
    }
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[1024];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    info.append(buf, static_cast<size_t>(n));
    if (info.size() > 64 * 1024) break;
  }
  const nlohmann::json j = nlohmann::json::parse(info, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("child-pid") ||
      !j["child-pid"].is_number_integer()) {
    return absl::InternalError(
        absl::StrCat("bubblewrap did not report the sandbox's pid (info: '", info, "')"));
  }
  return static_cast<pid_t>(j["child-pid"].get<int64_t>());
}

}  // namespace

absl::StatusOr<MeasuredImage> MeasureImage(const EnclaveImageDescription& image) {
  MeasuredImage m;
  const std::vector<std::string> parts = image.Parts();
  for (const std::string& p : parts) {
    VEIL_ASSIGN_OR_RETURN(std::string hex, Sha384OfFile(p));
    m.parts.push_back(MeasuredPart{p, std::move(hex)});
  }
  VEIL_ASSIGN_OR_RETURN(m.measurement, nsm::MeasureImageFiles(parts));
  return m;
}

nlohmann::json MeasurementsJson(const nsm::ImageMeasurement& image, const std::string& role_arn,
                                const std::string& instance_id) {
  // nlohmann::json orders keys alphabetically, which is nitro-cli's order
  // here (HashAlgorithm, PCR0, PCR1, ...), as in `veil measure`.
  nlohmann::json m;
  m["HashAlgorithm"] = "Sha384 { ... }";
  m["PCR0"] = HexEncode(image.pcr0);
  m["PCR1"] = HexEncode(image.pcr1);
  m["PCR2"] = HexEncode(image.pcr2);
  if (!role_arn.empty()) m["PCR3"] = HexEncode(nsm::MeasureRoleArn(role_arn));
  if (!instance_id.empty()) m["PCR4"] = HexEncode(nsm::MeasureInstanceId(instance_id));
  m["PCR8"] = HexEncode(nsm::ZeroPcr());
  return m;
}

nlohmann::json DescribeImageJson(const EnclaveImageDescription& image, const MeasuredImage& measured,
                                 const std::string& role_arn, const std::string& instance_id) {
  nlohmann::json parts = nlohmann::json::array();
  for (size_t i = 0; i < measured.parts.size(); ++i) {
    nlohmann::json p;
    p["Name"] = BaseName(measured.parts[i].path);
    p["Role"] = i == 0 ? "binary"
                : measured.parts[i].path == image.config ? "config"
                                                         : "file";
    p["Sha384"] = measured.parts[i].sha384_hex;
    parts.push_back(std::move(p));
  }
  nlohmann::json doc;
  doc["EifVersion"] = 4;
  doc["Measurements"] = MeasurementsJson(measured.measurement, role_arn, instance_id);
  doc["IsSigned"] = false;
  doc["CheckCRC"] = true;
  doc["ImageName"] = image.name;
  doc["ImageVersion"] = image.version;
  doc["Metadata"]["BuildTool"] = "veil-nitro-run";
  doc["Metadata"]["Parts"] = std::move(parts);
  return doc;
}

std::vector<std::string> SandboxArguments(const SandboxLayout& layout,
                                          const std::vector<std::string>& command) {
  const std::string binary_in = absl::StrCat(kSandboxBinDir, "/", BaseName(layout.binary));
  std::vector<std::string> a = {
      "--unshare-all",  "--die-with-parent", "--new-session", "--cap-drop", "ALL",
      "--hostname",     "enclave",           "--clearenv",    "--setenv",   "PATH",
      "/usr/bin",       "--setenv",          "VEIL_ENCLAVE_SIMULATED",      "1",
      "--ro-bind",      "/usr",              "/usr",          "--symlink",  "usr/bin",
      "/bin",           "--symlink",         "usr/lib",       "/lib",       "--symlink",
      "usr/lib64",      "/lib64",            "--proc",        "/proc",      "--dev",
      "/dev",           "--tmpfs",           "/tmp",
      // Debian resolves some libraries through /etc/alternatives (OpenCV's
      // BLAS and LAPACK): those symlinks, which point back into /usr, and
      // nothing else of the host's /etc.
      "--ro-bind-try",  "/etc/alternatives", "/etc/alternatives",
      "--ro-bind",      layout.binary,       binary_in};
  for (const std::string& f : layout.files) {
    a.insert(a.end(), {"--ro-bind", f, absl::StrCat(kSandboxAppDir, "/", BaseName(f))});
  }
  // Sanitizer settings are the only environment a sanitizer build of the
  // enclave inherits (tests need detect_leaks=0 there: LeakSanitizer cannot
  // stop the world without ptrace, which the sandbox's dropped capabilities
  // deny). They carry no data; nothing else crosses --clearenv.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      a.insert(a.end(), {"--setenv", name, value});
    }
  }
  a.insert(a.end(), {"--bind", layout.socket_dir, kSandboxSocketDir, "--remount-ro", "/",
                     "--chdir", "/enclave", "--"});
  if (command.empty()) {
    a.insert(a.end(), {binary_in, "--config",
                       absl::StrCat(kSandboxAppDir, "/", layout.config_basename)});
  } else {
    a.insert(a.end(), command.begin(), command.end());
  }
  return a;
}

std::string EnclaveEnd::Description() const {
  if (signal != 0) {
    return absl::StrCat("killed by signal ", signal, " (", SignalName(signal), ")");
  }
  return absl::StrCat("exited with status ", exit_code);
}

void BlockStopSignals() {
  // An ignored signal never reaches a signalfd (a shell starts background
  // jobs with SIGINT ignored): restore the default, harmless while blocked.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

std::string DefaultNsmSimPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "veil-nsm-sim";
  const std::string self(buf, static_cast<size_t>(n));
  const size_t slash = self.rfind('/');
  return absl::StrCat(self.substr(0, slash == std::string::npos ? 0 : slash), "/veil-nsm-sim");
}

absl::StatusOr<EnclaveEnd> RunEnclave(const LaunchOptions& o, std::ostream& out) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  UniqueFd sigfd(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd.valid()) return absl::InternalError("signalfd failed");

  VEIL_ASSIGN_OR_RETURN(EnclaveImageDescription source, LoadImageDescription(o.image_path));
  if (o.run_dir.empty()) return absl::InvalidArgumentError("--run-dir is empty");
  VEIL_RETURN_IF_ERROR(EnsurePrivateDir(o.run_dir, 0700));
  // Absolute from here on: the paths go to bubblewrap and veil-nsm-sim.
  std::unique_ptr<char, decltype(&std::free)> real(realpath(o.run_dir.c_str(), nullptr), &std::free);
  if (real == nullptr) return Errno("cannot resolve", o.run_dir);
  const std::string run_dir = real.get();
  const std::string image_dir = absl::StrCat(run_dir, "/image");
  const std::string sock_dir = absl::StrCat(run_dir, "/sock");
  const std::string nsm_sock = absl::StrCat(sock_dir, "/nsm.sock");
  const std::string channel_sock = absl::StrCat(sock_dir, "/channel.sock");
  VEIL_RETURN_IF_ERROR(EnsurePrivateDir(sock_dir, 0700));
  RemoveSocket(nsm_sock);
  RemoveSocket(channel_sock);

  // Copy the parts into DIR/image and measure the copies: what is measured
  // is what is bound into the sandbox, whatever happens to the originals.
  std::vector<std::string> names;
  for (const std::string& p : source.Parts()) names.push_back(BaseName(p));
  VEIL_RETURN_IF_ERROR(RemoveImageCopy(image_dir, names));
  if (mkdir(image_dir.c_str(), 0700) != 0) return Errno("cannot create", image_dir);
  auto remove_copy = absl::MakeCleanup([&] { (void)RemoveImageCopy(image_dir, names); });
  EnclaveImageDescription image = source;
  image.binary = absl::StrCat(image_dir, "/", BaseName(source.binary));
  VEIL_RETURN_IF_ERROR(CopyFile(source.binary, image.binary, 0500));
  image.files.clear();
  for (const std::string& f : source.files) {
    image.files.push_back(absl::StrCat(image_dir, "/", BaseName(f)));
    VEIL_RETURN_IF_ERROR(CopyFile(f, image.files.back(), 0400));
  }
  image.config = absl::StrCat(image_dir, "/", BaseName(source.config));
  if (chmod(image_dir.c_str(), 0500) != 0) return Errno("cannot chmod", image_dir);
  VEIL_ASSIGN_OR_RETURN(MeasuredImage measured, MeasureImage(image));

  SandboxLayout layout;
  layout.binary = image.binary;
  layout.files = image.files;
  layout.config_basename = BaseName(image.config);
  layout.socket_dir = sock_dir;

  // Preflight: the same sandbox running /usr/bin/true, its errors shown,
  // so that a sandbox that cannot be built is reported even when the
  // enclave's own console is discarded.
  {
    std::vector<std::string> argv = {o.bwrap};
    for (std::string& a : SandboxArguments(layout, {"/usr/bin/true"})) argv.push_back(std::move(a));
    SpawnSpec spec;
    spec.argv = std::move(argv);
    VEIL_ASSIGN_OR_RETURN(Child check, Spawn(spec));
    const int status = WaitExit(check, absl::InfiniteDuration()).value_or(-1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "bubblewrap cannot build the enclave sandbox (", WaitStatusText(status),
          "; its message is above). Are unprivileged user namespaces disabled?"));
    }
  }

  // veil-nsm-sim: the NSM of this enclave, on DIR/sock/nsm.sock.
  const std::string nsm_sim = o.nsm_sim.empty() ? DefaultNsmSimPath() : o.nsm_sim;
  std::vector<std::string> sim_argv = {nsm_sim, "--ca", o.ca_dir, "--socket", nsm_sock};
  for (const std::string& p : image.Parts()) sim_argv.insert(sim_argv.end(), {"--measure", p});
  if (o.debug) sim_argv.push_back("--debug");
  if (!o.instance_id.empty()) sim_argv.insert(sim_argv.end(), {"--instance-id", o.instance_id});
  if (!o.role_arn.empty()) sim_argv.insert(sim_argv.end(), {"--role-arn", o.role_arn});
  SpawnSpec sim_spec;
  sim_spec.argv = sim_argv;
  sim_spec.stdout_fd = 2;  // keep our stdout for the run-enclave JSON
  VEIL_ASSIGN_OR_RETURN(Child sim, Spawn(sim_spec));
  auto stop_sim = absl::MakeCleanup([&] {
    if (sim.pid >= 0) StopChild(sim, absl::Seconds(5));
    RemoveSocket(nsm_sock);
    RemoveSocket(channel_sock);
  });

  std::string module_id;
  const absl::Time nsm_deadline = absl::Now() + o.nsm_start_timeout;
  while (true) {
    if (std::optional<int> status = WaitExit(sim, absl::ZeroDuration())) {
      return absl::UnavailableError(absl::StrCat("veil-nsm-sim ", WaitStatusText(*status),
                                                 " before serving ", nsm_sock));
    }
    struct stat st;
    if (lstat(nsm_sock.c_str(), &st) == 0) {
      absl::StatusOr<std::unique_ptr<nsm::NsmDevice>> device =
          nsm::DevNsm::ConnectSimulator(nsm_sock);
      if (device.ok()) {
        VEIL_ASSIGN_OR_RETURN(nsm::NsmDescription d, (*device)->DescribeNsm());
        module_id = d.module_id;
        break;
      }
    }
    if (absl::Now() > nsm_deadline) {
      return absl::UnavailableError(absl::StrCat("veil-nsm-sim did not serve ", nsm_sock,
                                                 " within ", absl::FormatDuration(o.nsm_start_timeout)));
    }
    pollfd p{sim.pidfd.get(), POLLIN, 0};
    poll(&p, 1, 20);  // a short sleep that ends early if veil-nsm-sim exits
  }

  // The enclave.
  int info[2];
  if (pipe2(info, O_CLOEXEC) != 0) return Errno("pipe", "for bubblewrap");
  UniqueFd info_read(info[0]);
  UniqueFd info_write(info[1]);
  UniqueFd console_read;
  UniqueFd console_write;
  if (o.debug) {
    int console[2];
    if (pipe2(console, O_CLOEXEC) != 0) return Errno("pipe", "for the console");
    console_read = UniqueFd(console[0]);
    console_write = UniqueFd(console[1]);
    fcntl(console_read.get(), F_SETFL, O_NONBLOCK);
  }
  std::vector<std::string> argv = {o.bwrap, "--info-fd", "3"};
  for (std::string& a : SandboxArguments(layout)) argv.push_back(std::move(a));
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.stdout_fd = o.debug ? console_write.get() : -1;
  spec.stderr_fd = o.debug ? console_write.get() : -1;
  spec.extra_fd = info_write.get();
  if (o.memory_mib.has_value()) spec.address_space_bytes = *o.memory_mib * 1024 * 1024;
  VEIL_ASSIGN_OR_RETURN(Child bwrap, Spawn(spec));
  console_write.Reset();
  info_write.Reset();
  auto kill_bwrap = absl::MakeCleanup([&] {
    if (bwrap.pid >= 0) {
      kill(bwrap.pid, SIGKILL);
      WaitExit(bwrap, absl::InfiniteDuration());
    }
  });
  VEIL_ASSIGN_OR_RETURN(const pid_t sandbox_init, ReadChildPid(info_read.get(), absl::Seconds(10)));

  nlohmann::json run;
  run["EnclaveName"] = image.name;
  run["EnclaveID"] = module_id;
  run["ProcessID"] = static_cast<int64_t>(getpid());
  run["EnclaveCID"] = o.enclave_cid;
  run["NumberOfCPUs"] = CpuCount();
  if (o.memory_mib.has_value()) {
    run["MemoryMiB"] = *o.memory_mib;
  } else {
    run["MemoryMiB"] = nullptr;
  }
  run["Measurements"] = MeasurementsJson(measured.measurement, o.role_arn, o.instance_id);
  run["Debug"] = o.debug;
  run["Simulated"] = true;
  out << run.dump(2) << "\n";
  out.flush();
  Banner(o, module_id, measured);

  Console console;
  EnclaveEnd end;
  std::optional<int> bwrap_status;
  std::string failure;
  while (!bwrap_status.has_value()) {
    std::vector<pollfd> fds = {{sigfd.get(), POLLIN, 0},
                               {bwrap.pidfd.get(), POLLIN, 0},
                               {sim.pidfd.get(), POLLIN, 0}};
    if (console_read.valid()) fds.push_back({console_read.get(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return Errno("poll", "");
    }
    if (fds.size() > 3 && fds[3].revents != 0 && !DrainConsole(console_read.get(), &console)) {
      console_read.Reset();
    }
    if (fds[1].revents != 0) {
      bwrap_status = WaitExit(bwrap, absl::InfiniteDuration());
      break;
    }
    bool stop = false;
    if (fds[0].revents != 0) {
      signalfd_siginfo si;
      if (read(sigfd.get(), &si, sizeof(si)) == sizeof(si)) {
        std::fprintf(stderr, "veil-nitro-run: %s received, stopping the enclave\n",
                     SignalName(static_cast<int>(si.ssi_signo)).c_str());
        stop = true;
      }
    }
    if (fds[2].revents != 0) {
      const int status = WaitExit(sim, absl::InfiniteDuration()).value_or(-1);
      failure = absl::StrCat("veil-nsm-sim ", WaitStatusText(status), " while the enclave ran");
      std::fprintf(stderr, "veil-nitro-run: %s; stopping the enclave\n", failure.c_str());
      stop = true;
    }
    if (stop) {
      end.stopped_by_launcher = true;
      // SIGTERM to the enclave itself: the sandbox's init (bubblewrap)
      // ignores signals from outside its pid namespace.
      for (pid_t enclave : ChildPidsOf(sandbox_init)) kill(enclave, SIGTERM);
      const absl::Time deadline = absl::Now() + o.stop_grace;
      while (!bwrap_status.has_value() && absl::Now() < deadline) {
        bwrap_status = WaitExit(bwrap, absl::Milliseconds(50));
        if (console_read.valid() && !DrainConsole(console_read.get(), &console)) {
          console_read.Reset();
        }
      }
      if (!bwrap_status.has_value()) {
        std::fprintf(stderr, "veil-nitro-run: the enclave did not stop within %s; SIGKILL\n",
                     absl::FormatDuration(o.stop_grace).c_str());
        // SIGKILL to a pid namespace's init ends every process inside it.
        kill(sandbox_init, SIGKILL);
        kill(bwrap.pid, SIGKILL);
        bwrap_status = WaitExit(bwrap, absl::InfiniteDuration());
      }
    }
  }
  // The console's last bytes: every writer is gone once the sandbox's
  // namespace is, so this ends promptly.
  if (console_read.valid()) {
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (absl::Now() < deadline) {
      pollfd p{console_read.get(), POLLIN, 0};
      if (poll(&p, 1, 100) > 0 && !DrainConsole(console_read.get(), &console)) break;
    }
  }
  console.Finish();

  const int status = bwrap_status.value_or(-1);
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    // bubblewrap reports a command killed by signal N as 128 + N.
    if (code > 128 && code < 128 + NSIG) {
      end.signal = code - 128;
    } else {
      end.exit_code = code;
    }
  } else if (WIFSIGNALED(status)) {
    end.signal = WTERMSIG(status);
  }
  std::fprintf(stderr, "veil-nitro-run: the enclave %s; not restarting it\n",
               end.Description().c_str());
  std::move(stop_sim).Invoke();
  if (!failure.empty()) return absl::InternalError(failure);
  return end;
}

}  // namespace veil::nitro_sim
