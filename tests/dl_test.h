/* dl_test.h: what every cmocka test program shares: where the fixtures and
 * ../shared are, and a clear skip when ../shared is absent. */
#ifndef DL_TEST_H
#define DL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file under tests/fixtures (static buffer, rotates over 8). */
const char *dl_fixture(const char *rel);
/* Path of a file under ../shared/data, or NULL (after printing why) when
 * ../shared is not there: call DL_SKIP_IF_NO_SHARED first. */
const char *dl_shared(const char *rel);
/* The dustload binary built beside the tests. */
const char *dl_bin(void);
/* A fresh temporary directory for one test (removed by the OS, not us). */
const char *dl_tmpdir(void);

#define DL_SKIP_IF_NO_SHARED(rel)                                              \
  do {                                                                         \
    if (!dl_shared(rel)) {                                                     \
      print_message("skipped: ../shared/data/%s not found (a fresh clone has " \
                    "no ../shared; CI has it)\n", rel);                        \
      skip();                                                                  \
    }                                                                          \
  } while (0)

#endif
