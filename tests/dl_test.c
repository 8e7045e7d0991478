/* dl_test.c: fixture and ../shared lookup for the test programs. */
#include "dl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bufs[8][1024];
static int next;

static const char *join(const char *dir, const char *rel) {
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, rel);
  return b;
}

const char *dl_fixture(const char *rel) {
  const char *d = getenv("DL_FIXTURES");
  return join(d ? d : "tests/fixtures", rel);
}

const char *dl_shared(const char *rel) {
  const char *d = getenv("DL_SHARED");
  if (!d) d = "../shared";
  char dir[900];
  snprintf(dir, sizeof dir, "%s/data", d);
  const char *p = join(dir, rel);
  return access(p, R_OK) == 0 ? p : NULL;
}

const char *dl_bin(void) {
  const char *b = getenv("DL_BIN");
  return b ? b : "./dustload";
}

const char *dl_tmpdir(void) {
  char *b = bufs[next++ % 8];
  const char *t = getenv("TMPDIR");
  snprintf(b, sizeof bufs[0], "%s/dltest.XXXXXX", t ? t : "/tmp");
  if (!mkdtemp(b)) return "/tmp";
  return b;
}
