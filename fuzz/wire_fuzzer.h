// The veil::wire fuzz target, shared by the libFuzzer binary (clang, `fuzz`
// preset) and its replay test (every build with tests).
//
// Input: the candidate bytes, used three ways (no selector byte): as one
// encoded request, as one encoded response, and as a byte stream of frames
// read back through a socketpair.
#ifndef VEIL_FUZZ_WIRE_FUZZER_H_
#define VEIL_FUZZ_WIRE_FUZZER_H_

#include <cstddef>
#include <cstdint>

// LLVMFuzzerTestOneInput runs `data` through DecodeRequest and
// DecodeResponse, and through ReadFrame (frames of at most
// veil::fuzz::kFuzzMaxFrameBytes, each body through DecodeRequest and
// DecodeResponse). It aborts if a decoder fails with a code other than
// InvalidArgument, if a decoded message does not re-encode to bytes that
// decode to the same message, or if ReadFrame's result disagrees with the
// stream (frame sizes, where the stream ended, which error). Always
// returns 0.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace veil::fuzz {

// kFuzzMaxFrameBytes is small, so the over-limit path is reached often.
inline constexpr size_t kFuzzMaxFrameBytes = 4096;
// kFuzzMaxStreamBytes caps what the stream part pushes into the socketpair
// (what one socket buffer holds without a reader).
inline constexpr size_t kFuzzMaxStreamBytes = 64 * 1024;

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_WIRE_FUZZER_H_
