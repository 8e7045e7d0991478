/* batch_mpi.c: a batch over MPI ranks: rank 0 hands out runs, longest
 * first, to whichever worker reports free, and journals their results;
 * ranks 1..N-1 run them (OpenMP inside each run) and write their own HDF5
 * files. Only compiled in when CMake found MPI. */
#include "dl_batch.h"

#if DL_HAVE_MPI
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_TASK = 11, TAG_RESULT = 12 };

int dl_batch_mpi_launched(void) {
  /* Open MPI's mpirun, PMIx (srun, prterun) and Hydra (MPICH) set these */
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int dl_batch_mpi_init(int *rank, int *size, dl_err *e) {
  int provided = 0, inited = 0;
  MPI_Initialized(&inited);
  /* only the main thread calls MPI; OpenMP threads inside a run do not */
  if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return dl_errf(e, DL_ELIB, "MPI_Init_thread failed");
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  return DL_OK;
}

void dl_batch_mpi_finalize(void) {
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}

static int send_task(const dl_batch_task *t, int to) {
  return MPI_Send(t, (int)sizeof *t, MPI_BYTE, to, TAG_TASK, MPI_COMM_WORLD);
}

int dl_batch_mpi_dispatch(dl_batch_state *s, int size, dl_err *e) {
  int active = size - 1, rc = DL_OK;
  dl_batch_result res;
  dl_batch_task t;
  const struct timespec nap = {0, 1000000}; /* 1 ms: the dispatcher stays off the cores */
  while (active > 0) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
      return dl_errf(e, DL_ELIB, "MPI_Iprobe failed");
    if (!flag) {
      nanosleep(&nap, NULL);
      continue;
    }
    if (MPI_Recv(&res, (int)sizeof res, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return dl_errf(e, DL_ELIB, "MPI_Recv from rank %d failed", st.MPI_SOURCE);
    if (!rc && res.index >= 0) rc = dl_batch_record(s, &res, e);
    /* after a journal failure no more work is handed out */
    if (rc || !dl_batch_next(s, &t)) {
      memset(&t, 0, sizeof t);
      t.index = -1;
      active--;
    }
    if (send_task(&t, st.MPI_SOURCE) != MPI_SUCCESS)
      return dl_errf(e, DL_ELIB, "MPI_Send to rank %d failed", st.MPI_SOURCE);
  }
  return rc;
}

int dl_batch_mpi_work(const dl_batch_opts *o, dl_err *e) {
  dl_batch_result res;
  dl_batch_task *t = malloc(sizeof *t);
  if (!t) return dl_errf(e, DL_ENOMEM, "out of memory");
  memset(&res, 0, sizeof res);
  res.index = -1; /* "ready" */
  int rc = DL_OK;
  for (;;) {
    if (MPI_Send(&res, (int)sizeof res, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD) != MPI_SUCCESS) {
      rc = dl_errf(e, DL_ELIB, "MPI_Send to rank 0 failed");
      break;
    }
    if (MPI_Recv(t, (int)sizeof *t, MPI_BYTE, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS) {
      rc = dl_errf(e, DL_ELIB, "MPI_Recv from rank 0 failed");
      break;
    }
    if (t->index < 0) break;
    dl_batch_do(o, t, &res);
  }
  free(t);
  return rc;
}

void dl_batch_mpi_stop_all(int size) {
  /* each worker says "ready" once before anything else: answer it with stop */
  dl_batch_result res;
  dl_batch_task t;
  memset(&t, 0, sizeof t);
  t.index = -1;
  for (int w = 1; w < size; w++) {
    MPI_Status st;
    MPI_Recv(&res, (int)sizeof res, MPI_BYTE, MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &st);
    send_task(&t, st.MPI_SOURCE);
  }
}
#endif
#if !DL_HAVE_MPI
typedef int dl_batch_mpi_absent; /* ISO C wants a non-empty file */
#endif
