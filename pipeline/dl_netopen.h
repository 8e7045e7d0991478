/* dl_netopen.h: the compiled network file <-> the dl_net view: save a
 * view (import) and open one by mmap (every later command). */
#ifndef DL_NETOPEN_H
#define DL_NETOPEN_H

#include "dl_network.h"

#define DL_NETFILE_VERSION 2

typedef struct dl_netfile dl_netfile;

/* Writes the view to path atomically; DL_EEXIST when it exists and force is 0. */
int dl_network_save(const char *path, const dl_net *n, int force, int *unchanged, dl_err *e);
/* Maps path, validates it (checksums, then dl_net_check) and fills *n with
 * pointers into the mapping, valid until dl_network_close(*h). */
int dl_network_open(const char *path, dl_net *n, dl_netfile **h, dl_err *e);
void dl_network_close(dl_netfile *h);
/* Bytes of the mapped file. */
uint64_t dl_network_file_size(const dl_netfile *h);

#endif
