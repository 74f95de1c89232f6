#include "entrena/safetensors.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "entrena/json.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <signal.h>
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

// A path with a NUL byte would be cut short by the operating system: refused,
// as Python's open() does.
void check_path(const std::string& path) {
  if (path.find('\0') != std::string::npos)
    throw ValueError(cat("path: embedded null byte in '", path.substr(0, path.find('\0')), "\\x00...'"));
}

}  // namespace

// --------------------------------------------------------------- RawTensor
index_t RawTensor::numel() const {
  index_t n = 1;
  for (index_t d : shape) n *= d;
  return n;
}

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
  const index_t n = t.numel();
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
    check_path(path);
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

SafetensorsFile read_safetensors(const std::string& path,
                                 const std::function<void(const SafetensorsFile&)>& check) {
  Reader r(path);
  Header h = r.header();
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  if (check) {
    SafetensorsFile head;
    head.metadata = out.metadata;
    for (const auto& e : h.entries) {
      RawTensor t;
      t.dtype = e.dtype;
      t.shape = e.shape;
      head.tensors.emplace_back(e.name, std::move(t));
    }
    check(head);
  }
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

long process_id() {
#ifdef ENTRENA_POSIX_IO
  return static_cast<long>(::getpid());
#else
  return 0;
#endif
}

// ".<name>.tmp-": every temporary file of a target starts with this.
std::string temp_prefix(const fs::path& target) { return "." + target.filename().string() + ".tmp-"; }

// ".<name>.tmp-<pid>-<random hex>".
std::string temp_name_for(const fs::path& target) {
  static std::atomic<unsigned long long> counter{0};
  const auto t = static_cast<unsigned long long>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  const unsigned long long x = t ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL) ^
                               reinterpret_cast<std::uintptr_t>(&counter);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", x);
  return temp_prefix(target) + std::to_string(process_id()) + "-" + hex;
}

// Removes temporary files of `target` left by writers that no longer run
// (a process killed during a save): their process id is in the name.
void remove_stale_temps(const fs::path& dir, const fs::path& target) {
#ifdef ENTRENA_POSIX_IO
  const std::string prefix = temp_prefix(target);
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* rest = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &rest, 10);
    if (pid <= 0 || !rest || *rest != '-' || pid == process_id()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
#else
  (void)dir;
  (void)target;
#endif
}

// Writes the chunks to `path` through a temporary file in the same
// directory and a rename; on any failure the temporary file is removed and
// `path` is left as it was.
void write_atomically(const std::string& path, const std::vector<Chunk>& chunks) {
  check_path(path);
  const fs::path target(path);
  if (target.filename().empty()) throw IOError(cat(path, ": cannot write: not a file name"));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  remove_stale_temps(dir, target);
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
    // Names are unique (checked above): appended without a lookup.
    header.as_object().emplace_back(
        name, Json::object({{"dtype", dtype_code(t.dtype)},
                            {"shape", std::move(shape)},
                            {"data_offsets", Json::array({Json(offset), Json(offset + want)})}}));
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

}  // namespace entrena
