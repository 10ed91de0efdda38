#include "veil/inference/internal/onnx_shape.h"

#include <set>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::inference::internal {
namespace {

// Field is one protobuf field: its number and either a varint or a
// length-delimited payload (fixed32/64 are skipped by the reader).
struct Field {
  uint32_t number = 0;
  int wire_type = 0;
  uint64_t varint = 0;
  absl::Span<const uint8_t> bytes;
};

class ProtoReader {
 public:
  explicit ProtoReader(absl::Span<const uint8_t> data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }

  absl::StatusOr<Field> Next() {
    Field f;
    VEIL_ASSIGN_OR_RETURN(uint64_t key, Varint());
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire_type = static_cast<int>(key & 7);
    if (f.number == 0 || (key >> 3) > 0x1FFFFFFF) return Malformed();
    switch (f.wire_type) {
      case 0: {
        VEIL_ASSIGN_OR_RETURN(f.varint, Varint());
        return f;
      }
      case 1: return Skip(f, 8);
      case 5: return Skip(f, 4);
      case 2: {
        VEIL_ASSIGN_OR_RETURN(uint64_t len, Varint());
        if (len > data_.size() - pos_) return Malformed();
        f.bytes = data_.subspan(pos_, static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return f;
      }
      default: return Malformed();  // groups (3, 4) are not used by ONNX
    }
  }

 private:
  static absl::Status Malformed() {
    return absl::InvalidArgumentError("malformed ONNX model: bad protobuf encoding");
  }
  absl::StatusOr<Field> Skip(Field f, size_t n) {
    if (n > data_.size() - pos_) return Malformed();
    pos_ += n;
    return f;
  }
  absl::StatusOr<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Malformed();
      const uint8_t b = data_[pos_++];
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Malformed();
  }

  absl::Span<const uint8_t> data_;
  size_t pos_ = 0;
};

std::string AsString(absl::Span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// ParseValueInfo reads ValueInfoProto{name=1, type=2}, TypeProto{tensor_type=1},
// Tensor{shape=2}, TensorShapeProto{dim=1}, Dimension{dim_value=1, dim_param=2}.
absl::StatusOr<TensorDecl> ParseValueInfo(absl::Span<const uint8_t> bytes) {
  TensorDecl decl;
  absl::Span<const uint8_t> type, tensor, shape;
  for (ProtoReader r(bytes); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == 1 && f.wire_type == 2) decl.name = AsString(f.bytes);
    if (f.number == 2 && f.wire_type == 2) type = f.bytes;
  }
  for (ProtoReader r(type); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == 1 && f.wire_type == 2) tensor = f.bytes;
  }
  for (ProtoReader r(tensor); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == 2 && f.wire_type == 2) shape = f.bytes;
  }
  for (ProtoReader r(shape); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number != 1 || f.wire_type != 2) continue;
    int64_t dim = -1;
    for (ProtoReader d(f.bytes); !d.done();) {
      VEIL_ASSIGN_OR_RETURN(Field g, d.Next());
      if (g.number == 1 && g.wire_type == 0) dim = static_cast<int64_t>(g.varint);
    }
    if (decl.dims.size() >= 8) {
      return absl::InvalidArgumentError("ONNX model: tensor of more than 8 dimensions");
    }
    decl.dims.push_back(dim);
  }
  return decl;
}

}  // namespace

absl::StatusOr<OnnxSignature> ReadOnnxSignature(absl::Span<const uint8_t> model) {
  absl::Span<const uint8_t> graph;
  bool have_graph = false;
  for (ProtoReader r(model); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == 7 && f.wire_type == 2) {
      graph = f.bytes;
      have_graph = true;
    }
  }
  if (!have_graph) return absl::InvalidArgumentError("not an ONNX model: no graph");

  std::set<std::string> initializers;
  std::vector<absl::Span<const uint8_t>> inputs, outputs;
  for (ProtoReader r(graph); !r.done();) {
    VEIL_ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.wire_type != 2) continue;
    if (f.number == 11) inputs.push_back(f.bytes);
    if (f.number == 12) outputs.push_back(f.bytes);
    if (f.number == 5) {  // TensorProto.name = 8
      for (ProtoReader t(f.bytes); !t.done();) {
        VEIL_ASSIGN_OR_RETURN(Field g, t.Next());
        if (g.number == 8 && g.wire_type == 2) initializers.insert(AsString(g.bytes));
      }
    }
  }
  OnnxSignature sig;
  bool have_input = false;
  for (absl::Span<const uint8_t> in : inputs) {
    VEIL_ASSIGN_OR_RETURN(TensorDecl decl, ParseValueInfo(in));
    if (initializers.count(decl.name) == 0) {
      sig.input = std::move(decl);
      have_input = true;
      break;
    }
  }
  if (!have_input) return absl::InvalidArgumentError("ONNX model: the graph declares no input");
  if (outputs.empty()) return absl::InvalidArgumentError("ONNX model: the graph declares no output");
  VEIL_ASSIGN_OR_RETURN(sig.output, ParseValueInfo(outputs.front()));
  return sig;
}

}  // namespace veil::inference::internal
