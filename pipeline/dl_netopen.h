/* dl_netopen.h: the compiled network file <-> the dl_net view: save a
 * view (import) and open one by mmap (every later command). */
#ifndef DL_NETOPEN_H
#define DL_NETOPEN_H

#include "dl_network.h"

#define DL_NETFILE_VERSION 2

typedef struct dl_netfile dl_netfile;

/* Writes the view to path atomically; DL_EEXIST when it exists and force is 0. */
int dl_network_save(const char *path, const dl_net *n, int force, int *unchanged, dl_err *e);
/* The same file written array by array as dl_netbuild_stream hands them
 * over (its dl_netcol rows, in that order): open, put each, then close with
 * the scalars (commit: atomic, with the rules of dl_network_save) or abort.
 * Close and abort free the writer. */
typedef struct dl_netwriter dl_netwriter;
struct dl_netcol;
int dl_netwriter_open(const char *path, dl_netwriter **out, dl_err *e);
int dl_netwriter_put(dl_netwriter *w, const struct dl_netcol *col, uint64_t count, const void *data, dl_err *e);
int dl_netwriter_close(dl_netwriter *w, const dl_net *n, int force, int *unchanged, dl_err *e);
void dl_netwriter_abort(dl_netwriter *w);
/* Maps path, validates it (checksums, then dl_net_check) and fills *n with
 * pointers into the mapping, valid until dl_network_close(*h). */
int dl_network_open(const char *path, dl_net *n, dl_netfile **h, dl_err *e);
void dl_network_close(dl_netfile *h);
/* Bytes of the mapped file. */
uint64_t dl_network_file_size(const dl_netfile *h);

#endif
