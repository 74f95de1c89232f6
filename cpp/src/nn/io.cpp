#include "entrena/nn/io.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "entrena/json.hpp"
#include "entrena/nn/factory.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#define ENTRENA_POSIX_IO 1
#endif

namespace entrena {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ dtypes
const char* dtype_code(DType d) { return d == DType::F32 ? "F32" : "F64"; }
const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "float64"; }
std::size_t dtype_size(DType d) { return d == DType::F32 ? 4 : 8; }

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100u * 1024 * 1024;  // as the safetensors reference reader
constexpr std::size_t kMaxRank = 32;

bool host_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

template <class U>
U byteswap(U v) {
  unsigned char b[sizeof(U)];
  std::memcpy(b, &v, sizeof(U));
  std::reverse(b, b + sizeof(U));
  std::memcpy(&v, b, sizeof(U));
  return v;
}

// Reads a little-endian float/double from p.
template <class F>
F load_le(const unsigned char* p) {
  using U = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;
  U u;
  std::memcpy(&u, p, sizeof(U));
  if (!host_little_endian()) u = byteswap(u);
  F f;
  std::memcpy(&f, &u, sizeof(F));
  return f;
}

template <class F>
void store_le(unsigned char* p, F f) {
  using U = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;
  U u;
  std::memcpy(&u, &f, sizeof(U));
  if (!host_little_endian()) u = byteswap(u);
  std::memcpy(p, &u, sizeof(U));
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// --------------------------------------------------------------- RawTensor
template <class T>
void RawTensor::copy_to(T* out) const {
  const index_t n = numel();
  const std::size_t esize = dtype_size(dtype);
  if (bytes.size() != static_cast<std::size_t>(n) * esize)
    throw ValueError(cat("tensor: expected ", static_cast<std::size_t>(n) * esize, " bytes for shape ",
                         shape_str(shape), " ", dtype_code(dtype), ", got ", bytes.size()));
  if (dtype == dtype_of<T>() && host_little_endian()) {
    if (n) std::memcpy(out, bytes.data(), bytes.size());
    return;
  }
  const unsigned char* p = bytes.data();
  if (dtype == DType::F32) {
    for (index_t i = 0; i < n; ++i) out[i] = static_cast<T>(load_le<float>(p + 4 * i));
  } else {
    for (index_t i = 0; i < n; ++i) out[i] = static_cast<T>(load_le<double>(p + 8 * i));
  }
}

template <class T>
std::vector<T> RawTensor::values() const {
  std::vector<T> v(static_cast<std::size_t>(numel()));
  copy_to(v.data());
  return v;
}

template <class T>
RawTensor RawTensor::from(const T* data, const Shape& shape) {
  RawTensor t;
  t.dtype = dtype_of<T>();
  t.shape = shape;
  const index_t n = shape_size(shape);
  t.bytes.resize(static_cast<std::size_t>(n) * sizeof(T));
  if (host_little_endian()) {
    if (n) std::memcpy(t.bytes.data(), data, t.bytes.size());
  } else {
    for (index_t i = 0; i < n; ++i) store_le<T>(t.bytes.data() + sizeof(T) * i, data[i]);
  }
  return t;
}

template void RawTensor::copy_to<float>(float*) const;
template void RawTensor::copy_to<double>(double*) const;
template std::vector<float> RawTensor::values<float>() const;
template std::vector<double> RawTensor::values<double>() const;
template RawTensor RawTensor::from<float>(const float*, const Shape&);
template RawTensor RawTensor::from<double>(const double*, const Shape&);

const RawTensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.first == name) return &t.second;
  return nullptr;
}

// ---------------------------------------------------------------- reading
namespace {

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;  // in data order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;
};

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
      throw IOError(cat(path, ": cannot open for reading: ", ec ? ec.message() : "no such file"));
    if (fs::is_directory(st)) throw IOError(cat(path, ": cannot open for reading: it is a directory"));
    if (!fs::is_regular_file(st)) throw IOError(cat(path, ": cannot open for reading: not a regular file"));
    size_ = fs::file_size(path, ec);
    if (ec) throw IOError(cat(path, ": cannot read the file size: ", ec.message()));
    f_.open(path, std::ios::binary);
    if (!f_) throw IOError(cat(path, ": cannot open for reading: ", errno_text()));
  }

  [[noreturn]] void bad(const std::string& what) const {
    throw FormatError(cat(path_, ": not a valid safetensors file: ", what));
  }

  void read_at(std::uint64_t offset, void* dst, std::uint64_t n) {
    if (n == 0) return;
    f_.clear();
    f_.seekg(static_cast<std::streamoff>(offset));
    f_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!f_ || static_cast<std::uint64_t>(f_.gcount()) != n)
      throw IOError(cat(path_, ": reading ", n, " bytes at offset ", offset, " failed (was the file changed?)"));
  }

  Header header() {
    if (size_ < 8)
      bad(cat("the file has ", size_, " bytes, fewer than the 8 of the header length"));
    unsigned char lenbuf[8];
    read_at(0, lenbuf, 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | lenbuf[i];
    if (n > kMaxHeaderBytes)
      bad(cat("the header length is ", n, " bytes, more than the limit of ", kMaxHeaderBytes));
    if (n > size_ - 8)
      bad(cat("the header length is ", n, " bytes but only ", size_ - 8, " bytes follow it (truncated file?)"));
    if (n < 2) bad(cat("the header length is ", n, " bytes, too short for a JSON object"));
    std::string text(static_cast<std::size_t>(n), '\0');
    read_at(8, text.data(), n);
    if (text[0] != '{') bad("the header does not start with '{'");
    Json j;
    try {
      Json::Limits lim;
      lim.max_depth = 8;
      lim.max_bytes = kMaxHeaderBytes;
      j = Json::parse(text, lim);
    } catch (const ValueError& e) {
      bad(cat("the header is not valid JSON (", e.what(), ")"));
    }
    if (!j.is_object()) bad("the header is not a JSON object");

    Header h;
    h.data_start = 8 + n;
    const std::uint64_t data_size = size_ - h.data_start;
    for (const auto& [name, v] : j.as_object()) {
      if (name == "__metadata__") {
        if (!v.is_object()) bad("__metadata__ is not an object of strings");
        for (const auto& [k, s] : v.as_object()) {
          if (!s.is_string()) bad(cat("__metadata__ value of '", k, "' is a ", s.type_name(), ", not a string"));
          h.metadata[k] = s.as_string();
        }
        continue;
      }
      h.entries.push_back(entry(name, v, data_size));
    }
    // The tensors must cover the data exactly, without holes or overlaps.
    std::sort(h.entries.begin(), h.entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::uint64_t at = 0;
    for (const auto& e : h.entries) {
      if (e.begin != at)
        bad(cat("tensor '", e.name, "' starts at data offset ", e.begin, ", expected ", at,
                " (offsets must cover the data without holes or overlaps)"));
      at = e.end;
    }
    if (at != data_size)
      bad(cat("the tensors cover ", at, " bytes of data but the file holds ", data_size, " (truncated or padded file?)"));
    return h;
  }

  void read_data(const Header& h, SafetensorsFile& out) {
    for (const auto& e : h.entries) {
      RawTensor t;
      t.dtype = e.dtype;
      t.shape = e.shape;
      t.bytes.resize(static_cast<std::size_t>(e.end - e.begin));
      read_at(h.data_start + e.begin, t.bytes.data(), e.end - e.begin);
      out.tensors.emplace_back(e.name, std::move(t));
    }
  }

 private:
  Entry entry(const std::string& name, const Json& v, std::uint64_t data_size) const {
    const std::string what = cat("tensor '", name, "'");
    if (!v.is_object()) bad(cat(what, ": expected an object {dtype, shape, data_offsets}, got ", v.type_name()));
    const Json* dt = v.find("dtype");
    const Json* sh = v.find("shape");
    const Json* off = v.find("data_offsets");
    if (!dt || !sh || !off) bad(cat(what, ": expected the keys dtype, shape and data_offsets"));
    if (!dt->is_string()) bad(cat(what, ": dtype must be a string"));
    Entry e;
    e.name = name;
    if (dt->as_string() == "F32") e.dtype = DType::F32;
    else if (dt->as_string() == "F64") e.dtype = DType::F64;
    else
      bad(cat(what, ": dtype ", dt->as_string(), " is not supported (entrena reads F32 and F64)"));
    if (!sh->is_array() || sh->size() > kMaxRank) bad(cat(what, ": shape must be an array of at most ", kMaxRank, " sizes"));
    // numel * element size must equal end - begin <= data_size: checked without overflow.
    std::uint64_t numel = 1;
    bool overflow = false, zero = false;
    for (std::size_t i = 0; i < sh->size(); ++i) {
      const Json& d = sh->at(i);
      if (!d.is_integer() || d.as_int() < 0) bad(cat(what, ": shape must hold integers >= 0"));
      const auto u = static_cast<std::uint64_t>(d.as_int());
      e.shape.push_back(static_cast<index_t>(u));
      if (u == 0) zero = true;
      else if (numel > UINT64_MAX / u) overflow = true;
      else numel *= u;
    }
    if (zero) {
      numel = 0;
      overflow = false;
    }
    if (!off->is_array() || off->size() != 2 || !off->at(0).is_integer() || !off->at(1).is_integer() ||
        off->at(0).as_int() < 0 || off->at(1).as_int() < 0)
      bad(cat(what, ": data_offsets must be two integers >= 0"));
    e.begin = static_cast<std::uint64_t>(off->at(0).as_int());
    e.end = static_cast<std::uint64_t>(off->at(1).as_int());
    if (e.begin > e.end) bad(cat(what, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin"));
    if (e.end > data_size)
      bad(cat(what, ": data_offsets [", e.begin, ", ", e.end, "] go past the ", data_size, " bytes of data (truncated file?)"));
    const std::uint64_t esize = dtype_size(e.dtype);
    const bool too_big = overflow || numel > data_size / esize;
    if (too_big || numel * esize != e.end - e.begin)
      bad(cat(what, ": shape ", shape_str(e.shape), " of ", dt->as_string(), " needs ",
              too_big ? std::string("more bytes than the file has")
                                        : cat(numel * esize, " bytes"),
              ", but data_offsets span ", e.end - e.begin));
    return e;
  }

  std::string path_;
  std::uint64_t size_ = 0;
  std::ifstream f_;
};

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  Reader r(path);
  Header h = r.header();
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  r.read_data(h, out);
  return out;
}

SafetensorsFile read_safetensors_header(const std::string& path) {
  Reader r(path);
  Header h = r.header();
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  for (auto& e : h.entries) {
    RawTensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

// ---------------------------------------------------------------- writing
namespace {

struct Chunk {
  const void* data;
  std::size_t size;
};

std::string temp_name_for(const fs::path& target) {
  static std::atomic<unsigned long long> counter{0};
  const auto t = static_cast<unsigned long long>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  unsigned long long x = t ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL) ^
                         reinterpret_cast<std::uintptr_t>(&counter);
#ifdef ENTRENA_POSIX_IO
  x ^= static_cast<unsigned long long>(::getpid()) << 32;
#endif
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", x);
  return "." + target.filename().string() + ".tmp-" + hex;
}

// Writes the chunks to `path` through a temporary file in the same
// directory and a rename; on any failure the temporary file is removed and
// `path` is left as it was.
void write_atomically(const std::string& path, const std::vector<Chunk>& chunks) {
  const fs::path target(path);
  if (target.filename().empty()) throw IOError(cat(path, ": cannot write: not a file name"));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const fs::path tmp = dir / temp_name_for(target);
  const std::string tmps = tmp.string();
#ifdef ENTRENA_POSIX_IO
  int fd = ::open(tmps.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw IOError(cat(path, ": cannot write: ", errno_text()));
  auto fail = [&](const std::string& what) {
    const std::string msg = cat(path, ": ", what, ": ", errno_text());
    if (fd >= 0) ::close(fd);
    ::unlink(tmps.c_str());
    throw IOError(msg);
  };
  for (const Chunk& c : chunks) {
    const char* p = static_cast<const char*>(c.data);
    std::size_t left = c.size;
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write failed");
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  }
  if (::fsync(fd) != 0) fail("flushing to disk failed");
  const int rc = ::close(fd);
  fd = -1;
  if (rc != 0) fail("closing the file failed");
  if (::rename(tmps.c_str(), path.c_str()) != 0) fail("cannot replace the file");
#else
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw IOError(cat(path, ": cannot write: cannot create ", tmps));
    for (const Chunk& c : chunks) f.write(static_cast<const char*>(c.data), static_cast<std::streamsize>(c.size));
    f.flush();
    if (!f) {
      f.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      throw IOError(cat(path, ": write failed"));
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    throw IOError(cat(path, ": cannot replace the file: ", ec.message()));
  }
#endif
}

}  // namespace

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  Json header = Json::object();
  if (!file.metadata.empty()) {
    Json md = Json::object();
    for (const auto& [k, v] : file.metadata) md[k] = v;
    header["__metadata__"] = std::move(md);
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name == "__metadata__") throw ValueError("write_safetensors: a tensor may not be named '__metadata__'");
    if (!names.insert(name).second) throw ValueError(cat("write_safetensors: duplicate tensor name '", name, "'"));
    for (index_t d : t.shape)
      if (d < 0) throw ValueError(cat("write_safetensors: tensor '", name, "' has a negative size in ", shape_str(t.shape)));
    const std::size_t want = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype);
    if (t.bytes.size() != want)
      throw ValueError(cat("write_safetensors: tensor '", name, "' of shape ", shape_str(t.shape), " ",
                           dtype_code(t.dtype), " needs ", want, " bytes, got ", t.bytes.size()));
    Json shape = Json::array();
    for (index_t d : t.shape) shape.push_back(d);
    header[name] = Json::object({{"dtype", dtype_code(t.dtype)},
                                 {"shape", std::move(shape)},
                                 {"data_offsets", Json::array({Json(offset), Json(offset + want)})}});
    offset += want;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes
  unsigned char len[8];
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  std::vector<Chunk> chunks{{len, 8}, {text.data(), text.size()}};
  for (const auto& [name, t] : file.tensors)
    if (!t.bytes.empty()) chunks.push_back({t.bytes.data(), t.bytes.size()});
  write_atomically(path, chunks);
}

// ------------------------------------------------------------------ models
namespace {
const char* const kFormat = "entrena";
}

const std::vector<std::string>& reserved_metadata_keys() {
  static const std::vector<std::string> keys = {"format", "entrena_version", "dtype", "architecture",
                                                "optimizer_state", "rng_state"};
  return keys;
}

template <class T>
OptimizerState<T> optimizer_state(Optimizer<T>& opt) {
  OptimizerState<T> s;
  s.name = opt.name();
  s.steps = opt.steps();
  for (const StateBuffer<T>& b : opt.state()) {
    TensorData<T> t;
    t.shape = {b.size};
    t.data.assign(b.data, b.data + b.size);
    s.buffers[b.name] = std::move(t);
  }
  return s;
}

template <class T>
void restore_optimizer_state(Optimizer<T>& opt, const OptimizerState<T>& state, index_t n_params) {
  if (state.name != opt.name())
    throw ValueError(cat("optimizer state: saved for '", state.name, "', cannot restore into '", opt.name(), "'"));
  if (state.steps < 0) throw ValueError(cat("optimizer state: steps must be >= 0, got ", state.steps));
  if (state.buffers.empty() && state.steps == 0) return;  // nothing was taken yet
  opt.init_state(n_params);
  std::vector<StateBuffer<T>> bufs = opt.state();
  for (const auto& [name, t] : state.buffers) {
    const bool known = std::any_of(bufs.begin(), bufs.end(), [&](const StateBuffer<T>& b) { return b.name == name; });
    if (!known)
      throw ValueError(cat("optimizer state: buffer '", name, "' is not part of this ", opt.name(),
                           " optimizer's state (other settings than when it was saved?)"));
  }
  // Check everything before changing anything.
  for (const StateBuffer<T>& b : bufs) {
    auto it = state.buffers.find(b.name);
    if (it == state.buffers.end())
      throw ValueError(cat("optimizer state: missing buffer '", b.name, "' of the ", opt.name(), " optimizer"));
    if (static_cast<index_t>(it->second.data.size()) != b.size)
      throw ValueError(cat("optimizer state: buffer '", b.name, "' has ", it->second.data.size(),
                           " values, expected ", b.size, " (one per model parameter)"));
  }
  for (const StateBuffer<T>& b : bufs) {
    const auto& v = state.buffers.at(b.name).data;
    std::copy(v.begin(), v.end(), b.data);
  }
  opt.set_steps(state.steps);
}

template <class T>
void save(Sequential<T>& model, const std::string& path, const std::map<std::string, std::string>& metadata,
          const OptimizerState<T>* optimizer) {
  if (!model.built()) throw StateError("save: the model is not built yet (call build or fit first)");
  for (const auto& kv : metadata) {
    const auto& r = reserved_metadata_keys();
    if (std::find(r.begin(), r.end(), kv.first) != r.end())
      throw ValueError(cat("save: metadata key '", kv.first, "' is reserved for entrena (reserved: format, "
                           "entrena_version, dtype, architecture, optimizer_state, rng_state)"));
  }
  // The architecture must rebuild this very model, or the file could not be loaded.
  const Json arch = architecture(model);
  try {
    ArchitecturePlan<T> plan = plan_architecture<T>(arch);
    for (index_t k = 0; k < model.num_layers(); ++k) {
      Layer<T>& l = model.layer(k);
      const Layer<T>& p = *plan.layers[static_cast<std::size_t>(k)];
      if (p.param_shapes() != l.param_shapes() || p.output_shape() != l.output_shape())
        throw ValueError(cat("layer ", k, " (", l.kind(), "): its config rebuilds a layer of other shapes"));
    }
  } catch (const ValueError& e) {
    throw ValueError(cat("save: the model's layer configs do not describe it (", e.what(),
                         "); does every layer with arguments override Layer::config()?"));
  }

  SafetensorsFile f;
  f.metadata = metadata;
  f.metadata["format"] = kFormat;
  f.metadata["entrena_version"] = ENTRENA_VERSION;
  f.metadata["dtype"] = dtype_name(dtype_of<T>());
  f.metadata["architecture"] = arch.dump();
  f.metadata["rng_state"] = model.rng().state_string();
  for (index_t k = 0; k < model.num_layers(); ++k) {
    index_t off = model.param_offset(k);
    for (const auto& [name, shape] : model.layer(k).param_shapes()) {
      f.tensors.emplace_back(cat("layers.", k, ".", name), RawTensor::from(model.params() + off, shape));
      off += shape_size(shape);
    }
  }
  if (optimizer) {
    if (optimizer->name.empty()) throw ValueError("save: the optimizer state needs the optimizer's name");
    if (optimizer->steps < 0) throw ValueError(cat("save: optimizer steps must be >= 0, got ", optimizer->steps));
    f.metadata["optimizer_state"] =
        Json::object({{"name", optimizer->name}, {"steps", optimizer->steps}}).dump();
    for (const auto& [name, t] : optimizer->buffers) {
      if (name.empty()) throw ValueError("save: an optimizer state buffer has an empty name");
      if (static_cast<index_t>(t.data.size()) != shape_size(t.shape))
        throw ValueError(cat("save: optimizer buffer '", name, "' has ", t.data.size(), " values for shape ",
                             shape_str(t.shape)));
      f.tensors.emplace_back("optimizer." + name, RawTensor::from(t.data.data(), t.shape));
    }
  }
  write_safetensors(path, f);
}

SafetensorsFile read_model_file(const std::string& path) {
  Reader r(path);
  Header h = r.header();
  auto it = h.metadata.find("format");
  if (it == h.metadata.end())
    throw FormatError(cat(path, ": not an entrena model file: its metadata has no \"format\": \"entrena\" "
                          "(a safetensors file written by another program?)"));
  if (it->second != kFormat)
    throw FormatError(cat(path, ": not an entrena model file: its format is '", it->second, "', expected 'entrena'"));
  for (const char* key : {"dtype", "architecture"})
    if (!h.metadata.count(key))
      throw FormatError(cat(path, ": entrena model file without the metadata key '", key, "'"));
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  r.read_data(h, out);
  return out;
}

DType model_file_dtype(const SafetensorsFile& file, const std::string& path) {
  auto it = file.metadata.find("dtype");
  if (it == file.metadata.end()) throw FormatError(cat(path, ": entrena model file without the metadata key 'dtype'"));
  if (it->second == "float32") return DType::F32;
  if (it->second == "float64") return DType::F64;
  throw FormatError(cat(path, ": metadata dtype must be 'float32' or 'float64', got '", it->second, "'"));
}

template <class T>
LoadedModel<T> build_loaded(const SafetensorsFile& file, const std::string& path, bool convert_dtype,
                            std::uint64_t seed) {
  const DType fd = model_file_dtype(file, path);
  if (fd != dtype_of<T>() && !convert_dtype)
    throw FormatError(cat(path, ": the file holds ", dtype_name(fd), " weights and a ", dtype_name(dtype_of<T>()),
                          " model was asked for (load it as ", dtype_name(fd), ", or allow the conversion)"));
  Json arch;
  try {
    arch = Json::parse(file.metadata.at("architecture"));
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": metadata 'architecture' is not valid JSON: ", e.what()));
  }
  ArchitecturePlan<T> plan;
  try {
    plan = plan_architecture<T>(arch);
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": ", e.what()));
  }

  // Every parameter tensor present with its shape; nothing unexpected.
  std::map<std::string, Shape> expected;
  for (std::size_t k = 0; k < plan.layers.size(); ++k)
    for (const auto& [name, shape] : plan.layers[k]->param_shapes()) expected[cat("layers.", k, ".", name)] = shape;
  bool has_opt_tensors = false;
  for (const auto& [name, t] : file.tensors) {
    if (t.dtype != fd)
      throw FormatError(cat(path, ": tensor '", name, "' is ", dtype_code(t.dtype), " but the file's dtype is ",
                            dtype_name(fd)));
    if (name.rfind("optimizer.", 0) == 0 && name.size() > 10) {
      has_opt_tensors = true;
      continue;
    }
    auto it = expected.find(name);
    if (it == expected.end())
      throw FormatError(cat(path, ": unexpected tensor '", name, "' (the architecture has no such parameter)"));
    if (it->second != t.shape)
      throw FormatError(cat(path, ": tensor '", name, "' has shape ", shape_str(t.shape), ", the architecture needs ",
                            shape_str(it->second)));
  }
  for (const auto& [name, shape] : expected)
    if (!file.find(name))
      throw FormatError(cat(path, ": missing tensor '", name, "' of shape ", shape_str(shape)));

  LoadedModel<T> out;
  out.file_dtype = fd;
  out.metadata = file.metadata;
  try {
    out.model = model_from_architecture<T>(arch, seed);
  } catch (const ValueError& e) {
    throw FormatError(cat(path, ": ", e.what()));
  }
  Sequential<T>& m = *out.model;
  for (index_t k = 0; k < m.num_layers(); ++k) {
    index_t off = m.param_offset(k);
    for (const auto& [name, shape] : m.layer(k).param_shapes()) {
      file.find(cat("layers.", k, ".", name))->copy_to(m.params() + off);
      off += shape_size(shape);
    }
  }

  // The generator continues where the saved model's stopped (files without
  // the key, e.g. written elsewhere, keep the generator seeded from `seed`).
  auto rs = file.metadata.find("rng_state");
  if (rs != file.metadata.end()) {
    try {
      m.rng().restore_state(rs->second);
    } catch (const ValueError& e) {
      throw FormatError(cat(path, ": ", e.what()));
    }
  }

  auto os = file.metadata.find("optimizer_state");
  if (os != file.metadata.end()) {
    OptimizerState<T> st;
    try {
      const Json j = Json::parse(os->second);
      st.name = j.at("name").as_string();
      st.steps = static_cast<index_t>(j.at("steps").as_int());
      if (st.steps < 0 || st.name.empty()) throw ValueError("expected a name and steps >= 0");
    } catch (const ValueError& e) {
      throw FormatError(cat(path, ": metadata 'optimizer_state' must be JSON {\"name\": ..., \"steps\": ...}: ",
                            e.what()));
    }
    for (const auto& [name, t] : file.tensors) {
      if (name.rfind("optimizer.", 0) != 0 || name.size() <= 10) continue;
      TensorData<T> td;
      td.shape = t.shape;
      td.data = t.template values<T>();
      st.buffers[name.substr(10)] = std::move(td);
    }
    out.optimizer = std::move(st);
  } else if (has_opt_tensors) {
    throw FormatError(cat(path, ": optimizer.* tensors without the metadata key 'optimizer_state'"));
  }
  return out;
}

template <class T>
LoadedModel<T> load(const std::string& path, bool convert_dtype, std::uint64_t seed) {
  return build_loaded<T>(read_model_file(path), path, convert_dtype, seed);
}

#define ENTRENA_INSTANTIATE(T)                                                                        \
  template OptimizerState<T> optimizer_state<T>(Optimizer<T>&);                                       \
  template void restore_optimizer_state<T>(Optimizer<T>&, const OptimizerState<T>&, index_t);         \
  template void save<T>(Sequential<T>&, const std::string&, const std::map<std::string, std::string>&, \
                        const OptimizerState<T>*);                                                    \
  template LoadedModel<T> build_loaded<T>(const SafetensorsFile&, const std::string&, bool, std::uint64_t); \
  template LoadedModel<T> load<T>(const std::string&, bool, std::uint64_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
