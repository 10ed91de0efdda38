// Reads the declared input and output tensor shapes of an ONNX model
// straight from its protobuf encoding (onnx.proto: ModelProto.graph,
// GraphProto.input/output/initializer, ValueInfoProto.type,
// TypeProto.tensor_type.shape), so the input size of a model given without
// a manifest comes from the model itself. Bounded and strict: a truncated or
// malformed encoding is an error, never a crash.
#ifndef VEIL_INFERENCE_INTERNAL_ONNX_SHAPE_H_
#define VEIL_INFERENCE_INTERNAL_ONNX_SHAPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::inference::internal {

struct TensorDecl {
  std::string name;
  std::vector<int64_t> dims;  // -1 for a symbolic dimension
};

struct OnnxSignature {
  TensorDecl input;   // the first graph input that is not an initializer
  TensorDecl output;  // the first graph output
};

absl::StatusOr<OnnxSignature> ReadOnnxSignature(absl::Span<const uint8_t> model);

}  // namespace veil::inference::internal

#endif  // VEIL_INFERENCE_INTERNAL_ONNX_SHAPE_H_
