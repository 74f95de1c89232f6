// Data-parallel training: what the epoch loop needs from the processes
// that train one model together (MPI ranks, or any transport).
//
// A Communicator moves bytes: all_to_all and all_gather of equal blocks,
// and broadcast. On top of them the library sums a buffer over the ranks
// in a fixed order (allreduce_sum): the buffer is cut into P blocks, rank
// r receives block r of every rank (all_to_all), adds them up in rank
// order 0, 1, ..., P-1, and the sums are gathered back (all_gather). Every
// rank gets the same bits, whatever the transport's own algorithms, and
// the bytes sent are 2(P-1)/P of the buffer per rank, as in a ring
// allreduce.
//
//   class MpiComm : public entrena::Communicator { ... MPI_Alltoall, MPI_Allgather, MPI_Bcast ... };
//   MpiComm comm(MPI_COMM_WORLD);
//   entrena::FitOptions<float> o;
//   o.communicator = &comm;   // every rank passes the whole data set; each trains on its shard
//
// See examples/cpp/train_mpi for a complete MPI application.
#pragma once

#include <cstddef>
#include <vector>

#include "entrena/common.hpp"

namespace entrena {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // send: size() blocks of `bytes` each, block q for rank q; recv: size()
  // blocks, block q from rank q.
  virtual void all_to_all(const void* send, void* recv, std::size_t bytes) = 0;
  // send: one block of `bytes`; recv: size() blocks, block q from rank q.
  virtual void all_gather(const void* send, void* recv, std::size_t bytes) = 0;
  // buf: `bytes` on every rank, rank root's afterwards.
  // (The library calls these with bytes > 0 only.)
  virtual void broadcast(void* buf, std::size_t bytes, int root) = 0;

  // buf: n values on every rank -> their sum over the ranks, added in rank
  // order (the same bits on every rank and in every run).
  template <class T>
  void allreduce_sum(T* buf, index_t n);

 private:
  std::vector<unsigned char> send_, recv_;
};

// One process: every call is a copy (for tests and for code that always
// passes a communicator).
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_to_all(const void* send, void* recv, std::size_t bytes) override;
  void all_gather(const void* send, void* recv, std::size_t bytes) override;
  void broadcast(void*, std::size_t, int) override {}
};

}  // namespace entrena
