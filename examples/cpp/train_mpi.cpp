// Data-parallel training with MPI from C++: every rank builds the same
// model, passes the whole data set to entrena::fit with an MPI-backed
// entrena::Communicator, and trains on its shard; gradients are averaged
// after each batch inside the epoch loop, so the ranks end with the same
// weights (bit for bit) and rank 0 saves the model.
//
//   mpiexec -n 2 ./train_mpi [out.safetensors]
//
// Built when CMake finds MPI (find_package(MPI COMPONENTS CXX)).
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <entrena/entrena.hpp>

namespace en = entrena;

// The three collectives entrena needs, over one MPI communicator. entrena
// adds the blocks itself, in rank order, so the sums do not depend on the
// MPI library's reduction algorithms.
class MpiCommunicator final : public en::Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_to_all(const void* send, void* recv, std::size_t bytes) override {
    MPI_Alltoall(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm_);
  }
  void all_gather(const void* send, void* recv, std::size_t bytes) override {
    MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm_);
  }
  void broadcast(void* buf, std::size_t bytes, int root) override {
    MPI_Bcast(buf, static_cast<int>(bytes), MPI_BYTE, root, comm_);
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int code = 0;
  try {
    MpiCommunicator comm(MPI_COMM_WORLD);
    // Two interleaved spirals, the same on every rank (each trains on its shard).
    const en::index_t n = 2000;
    std::vector<float> X(n * 2), y(n);
    for (en::index_t i = 0; i < n; ++i) {
      const double t = 0.25 + 3.0 * static_cast<double>(i / 2) / static_cast<double>(n / 2);
      const double sign = i % 2 ? -1.0 : 1.0;
      X[i * 2] = static_cast<float>(sign * t * std::cos(2.5 * t));
      X[i * 2 + 1] = static_cast<float>(sign * t * std::sin(2.5 * t));
      y[i] = static_cast<float>(i % 2);
    }
    en::Sequential<float> model(/*seed=*/comm.rank());   // rank 0's weights are broadcast by fit
    model.add(en::Dense<float>(64, "tanh"));
    model.add(en::Dense<float>(64, "tanh"));
    model.add(en::Dense<float>(2));
    model.build({2});
    en::CategoricalCrossentropy<float> loss;
    en::Adam<float> opt(3e-3);
    en::FitOptions<float> o;
    o.epochs = 60;
    o.batch_size = 32;                                   // per rank: P·32 samples per step
    o.metrics = {"accuracy"};
    o.communicator = &comm;
    const en::History h = en::fit(model, loss, opt, X.data(), y.data(), n, 1, o);

    // Every rank holds the same weights: compare a checksum.
    double sum = 0.0;
    for (en::index_t k = 0; k < model.num_params(); ++k) sum += model.params()[k] * (k % 7 + 1);
    std::vector<double> sums(static_cast<std::size_t>(comm.size()));
    MPI_Gather(&sum, 1, MPI_DOUBLE, sums.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (comm.rank() == 0) {
      bool same = true;
      for (double s : sums) same = same && std::memcmp(&s, &sums[0], sizeof(double)) == 0;
      const auto& loss_curve = h["loss"];
      std::printf("ranks %d, epochs %lld, loss %.4f -> %.4f, training accuracy (rank 0's shard) %.4f\n",
                  comm.size(), static_cast<long long>(h.epochs()), loss_curve.front(), loss_curve.back(),
                  h["accuracy"].back());
      std::printf("weights equal on every rank: %s\n", same ? "yes" : "no");
      if (argc > 1) {
        en::save(model, argv[1]);
        std::printf("saved %s\n", argv[1]);
      }
      if (!same) code = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    code = 1;
  }
  MPI_Finalize();
  return code;
}
