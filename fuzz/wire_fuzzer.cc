#include "fuzz/wire_fuzzer.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/types/span.h"
#include "veil/common/byte_reader.h"
#include "veil/wire/frame.h"
#include "veil/wire/messages.h"
#include "veil/wire/scoped_fd.h"

namespace veil::fuzz {
namespace {

namespace w = veil::wire;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "wire_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

void CheckRefusal(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInvalidArgument) Fail("decoder failed without InvalidArgument");
}

bool SameRequest(const w::Request& a, const w::Request& b) {
  if (a.id != b.id || a.message.index() != b.message.index()) return false;
  if (const auto* ca = std::get_if<w::CredentialsRequest>(&a.message)) {
    const auto& cb = std::get<w::CredentialsRequest>(b.message);
    return ca->access_key_id == cb.access_key_id && ca->session_token == cb.session_token &&
           ca->expiration == cb.expiration &&
           AsStringView(ca->secret_access_key.Expose()) ==
               AsStringView(cb.secret_access_key.Expose());
  }
  if (const auto* ia = std::get_if<w::InferRequest>(&a.message)) {
    return *ia == std::get<w::InferRequest>(b.message);
  }
  if (const auto* aa = std::get_if<w::AttestRequest>(&a.message)) {
    return *aa == std::get<w::AttestRequest>(b.message);
  }
  return true;
}

void DecodeBoth(absl::Span<const uint8_t> input, const w::Limits& limits) {
  if (auto r = w::DecodeRequest(input, limits); r.ok()) {
    auto again = w::EncodeRequest(*r, limits);
    if (!again.ok()) Fail("decoded request does not re-encode");
    auto back = w::DecodeRequest(*again, limits);
    if (!back.ok() || !SameRequest(*back, *r)) Fail("re-encoded request decodes differently");
    if (w::EncodeRequest(*back, limits).value() != *again) Fail("request encoding not deterministic");
  } else {
    CheckRefusal(r.status());
  }
  if (auto r = w::DecodeResponse(input, limits); r.ok()) {
    auto again = w::EncodeResponse(*r, limits);
    if (!again.ok()) Fail("decoded response does not re-encode");
    auto back = w::DecodeResponse(*again, limits);
    if (!back.ok() || !(*back == *r)) Fail("re-encoded response decodes differently");
  } else {
    CheckRefusal(r.status());
  }
}

// ReadStream writes `input` into one end of a socketpair, closes it, and
// reads frames from the other end until ReadFrame fails, checking every
// result against the bytes.
void ReadStream(absl::Span<const uint8_t> input, const w::Limits& limits) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) Fail("socketpair");
  w::ScopedFd writer(fds[0]), reader(fds[1]);
  input = input.first(std::min(input.size(), kFuzzMaxStreamBytes));
  size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::send(writer.get(), input.data() + written, input.size() - written,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;  // a full buffer: the stream is what got in
    written += static_cast<size_t>(n);
  }
  writer.reset();
  const absl::Span<const uint8_t> stream = input.first(written);

  size_t consumed = 0;
  while (true) {
    auto frame = w::ReadFrame(reader.get(), kFuzzMaxFrameBytes, absl::Seconds(5));
    const size_t left = stream.size() - consumed;
    if (frame.ok()) {
      if (frame->empty() || frame->size() > kFuzzMaxFrameBytes) Fail("frame size out of bounds");
      if (left < 4 + frame->size()) Fail("frame longer than the stream");
      if (!std::equal(frame->begin(), frame->end(), stream.begin() + consumed + 4)) {
        Fail("frame bytes differ from the stream");
      }
      consumed += 4 + frame->size();
      DecodeBoth(*frame, limits);
      continue;
    }
    const absl::StatusCode code = frame.status().code();
    if (code == absl::StatusCode::kOutOfRange) {
      if (left != 0) Fail("clean EOF reported inside the stream");
    } else if (code == absl::StatusCode::kDataLoss) {
      if (left == 0) Fail("truncation reported at a frame boundary");
      if (left >= 4) {
        auto len = w::ParseFrameHeader(stream.subspan(consumed, 4), kFuzzMaxFrameBytes);
        if (!len.ok() || left >= 4 + *len) Fail("truncation reported for a whole frame");
      }
    } else if (code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kResourceExhausted) {
      if (left < 4) Fail("header refused before it arrived");
      auto len = w::ParseFrameHeader(stream.subspan(consumed, 4), kFuzzMaxFrameBytes);
      if (len.ok() || len.status().code() != code) Fail("header refusal differs");
    } else {
      Fail("unexpected ReadFrame status");
    }
    break;
  }
}

}  // namespace
}  // namespace veil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> input(data, size);
  veil::wire::Limits limits;
  veil::fuzz::DecodeBoth(input, limits);
  veil::fuzz::ReadStream(input, limits);
  return 0;
}
