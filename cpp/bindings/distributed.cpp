// entrena._core.MPICommunicator: a Communicator over an MPI library that
// Python has loaded (through mpi4py). Python passes the addresses of
// MPI_Alltoall, MPI_Allgather and MPI_Bcast and the handles of the
// communicator and of MPI_BYTE; the epoch loop then calls MPI itself, with
// the GIL released, and never returns to Python for a collective. Handles
// are pointers in Open MPI and ints in MPICH: the handle size says which.
#include <climits>

#include "common.hpp"

namespace entrena::bind {

namespace {

template <class H>
class MpiPointers final : public Communicator {
 public:
  using Alltoall = int (*)(const void*, int, H, void*, int, H, H);
  using Allgather = int (*)(const void*, int, H, void*, int, H, H);
  using Bcast = int (*)(void*, int, H, int, H);

  MpiPointers(std::uintptr_t comm, std::uintptr_t byte, std::uintptr_t alltoall, std::uintptr_t allgather,
              std::uintptr_t bcast, int rank, int size)
      : comm_(static_cast<H>(comm)), byte_(static_cast<H>(byte)),
        alltoall_(reinterpret_cast<Alltoall>(alltoall)), allgather_(reinterpret_cast<Allgather>(allgather)),
        bcast_(reinterpret_cast<Bcast>(bcast)), rank_(rank), size_(size) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_to_all(const void* send, void* recv, std::size_t bytes) override {
    check(alltoall_(send, count(bytes), byte_, recv, count(bytes), byte_, comm_), "MPI_Alltoall");
  }
  void all_gather(const void* send, void* recv, std::size_t bytes) override {
    check(allgather_(send, count(bytes), byte_, recv, count(bytes), byte_, comm_), "MPI_Allgather");
  }
  void broadcast(void* buf, std::size_t bytes, int root) override {
    // In pieces of at most INT_MAX bytes (MPI counts are ints).
    auto* p = static_cast<unsigned char*>(buf);
    for (std::size_t off = 0; off < bytes;) {
      const std::size_t c = std::min<std::size_t>(bytes - off, INT_MAX);
      check(bcast_(p + off, static_cast<int>(c), byte_, root, comm_), "MPI_Bcast");
      off += c;
    }
  }

 private:
  static int count(std::size_t bytes) {
    if (bytes > static_cast<std::size_t>(INT_MAX))
      throw ValueError(cat("distributed: a block of ", bytes, " bytes is more than MPI's int count allows; use more "
                           "ranks or a smaller model"));
    return static_cast<int>(bytes);
  }
  static void check(int rc, const char* what) {
    if (rc != 0) throw StateError(cat("distributed: ", what, " failed with MPI error code ", rc));
  }
  H comm_, byte_;
  Alltoall alltoall_;
  Allgather allgather_;
  Bcast bcast_;
  int rank_, size_;
};

}  // namespace

void bind_distributed(py::module_& m) {
  py::class_<Communicator, std::shared_ptr<Communicator>>(m, "Communicator")
      .def_property_readonly("rank", &Communicator::rank)
      .def_property_readonly("size", &Communicator::size)
      .def("allreduce_sum", [](Communicator& c, const py::array& a) {
        // In place: no conversion, so no silent copy.
        const bool f32 = a.dtype().is(py::dtype::of<float>()), f64 = a.dtype().is(py::dtype::of<double>());
        if (!f32 && !f64)
          throw TypeError(cat("buffer: expected a float32 or float64 array, got dtype ", std::string(py::str(a.dtype()))));
        if (!(a.flags() & py::array::c_style))
          throw ValueError("buffer: expected a C-contiguous array (it is summed in place), got a strided one");
        if (!a.writeable()) throw ValueError("buffer: expected a writable array (it is summed in place)");
        void* p = const_cast<void*>(a.data());
        const index_t n = static_cast<index_t>(a.size());
        py::gil_scoped_release nogil;
        if (f32) c.allreduce_sum(static_cast<float*>(p), n);
        else c.allreduce_sum(static_cast<double*>(p), n);
      }, py::arg("buffer"), "Sums a float32 or float64 array over the ranks in place, in rank order (the same bits "
                            "everywhere).");
  py::class_<SingleProcess, Communicator, std::shared_ptr<SingleProcess>>(m, "SingleProcess").def(py::init<>());
  m.def("mpi_communicator", [](int handle_size, std::uintptr_t comm, std::uintptr_t byte, std::uintptr_t alltoall,
                               std::uintptr_t allgather, std::uintptr_t bcast, int rank,
                               int size) -> std::shared_ptr<Communicator> {
    if (size < 1 || rank < 0 || rank >= size)
      throw ValueError(cat("mpi_communicator: expected 0 <= rank < size, got rank ", rank, " of ", size));
    if (!alltoall || !allgather || !bcast)
      throw ValueError("mpi_communicator: expected the addresses of MPI_Alltoall, MPI_Allgather and MPI_Bcast");
    if (handle_size == 8) return std::make_shared<MpiPointers<std::uintptr_t>>(comm, byte, alltoall, allgather, bcast, rank, size);
    if (handle_size == 4) return std::make_shared<MpiPointers<std::uint32_t>>(comm, byte, alltoall, allgather, bcast, rank, size);
    throw ValueError(cat("mpi_communicator: expected MPI handles of 4 or 8 bytes, got ", handle_size));
  }, py::arg("handle_size"), py::arg("comm"), py::arg("byte"), py::arg("alltoall"), py::arg("allgather"),
     py::arg("bcast"), py::arg("rank"), py::arg("size"),
     "A Communicator calling an MPI library already loaded in the process (entrena.distributed makes it).");
}

}  // namespace entrena::bind
