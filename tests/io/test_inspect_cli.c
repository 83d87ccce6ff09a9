/* test_inspect_cli.c - `minihlt inspect` end to end: the program ($MINIHLT,
 * set by scripts/run_tests.sh) on files written here with the writer, good
 * and damaged. (A Check program rather than an e2e shell script because it needs
 * the writer to make files; move to tests/e2e once `minihlt gen` exists.) */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evtest.h"
#include "io/mh_evfile.h"

static char dir[64];
static char path[128];
static char out[16384];
static char errout[16384];

static void setup(void)
{
    mhT_mkdir(dir);
    snprintf(path, sizeof path, "%s/s.mhe", dir);
}

static void teardown(void)
{
    mhT_rmdir(dir);
}

static const char *program(void)
{
    const char *p = getenv("MINIHLT");
    if (!p || !*p)
        p = "build/bin/minihlt";
    ck_assert_msg(access(p, X_OK) == 0, "minihlt program '%s' not found (set MINIHLT)", p);
    return p;
}

static void slurp_text(const char *p, char *buf, size_t n)
{
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = '\0';
    fclose(f);
}

/* Runs `minihlt inspect ARGS` and returns its exit status; stdout and
 * stderr land in out and errout. */
static int inspect(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' inspect %s >'%s/out' 2>'%s/err'", program(), args, dir, dir);
    int rc = system(cmd);
    ck_assert(rc != -1 && WIFEXITED(rc));
    char p[256];
    snprintf(p, sizeof p, "%s/out", dir);
    slurp_text(p, out, sizeof out);
    snprintf(p, sizeof p, "%s/err", dir);
    slurp_text(p, errout, sizeof errout);
    unlink(p);
    snprintf(p, sizeof p, "%s/out", dir);
    unlink(p);
    return WEXITSTATUS(rc);
}

#define HAS(buf, s) ck_assert_msg(strstr(buf, s), "missing '%s' in:\n%s", s, buf)

START_TEST(inspect_good_file)
{
    mhT_write(path, 20, 6);
    mh_evreader *r = NULL;
    char err[256];
    ck_assert_int_eq(mh_evreader_open(path, 0, &r, err, sizeof err), MH_OK);
    char line[128];
    snprintf(line, sizeof line, "uuid            %s\n", mh_evreader_info(r)->uuid);
    mh_evreader_close(r);

    ck_assert_int_eq(inspect(path), 0);
    HAS(out, line);
    HAS(out, "format          1.0\n");
    HAS(out, "events          20\n");
    HAS(out, "clusters        4 ");
    HAS(out, "generator              evtest\n");
    HAS(out, "event_count            20\n");
    HAS(out, ", ratio ");
    /* standard events 0..19: ndigis 5 + (37 i mod 120), 0 for i % 10 == 7 */
    HAS(out, "channels/event  min 0 ");
    ck_assert_str_eq(errout, "");

    char args[256];
    snprintf(args, sizeof args, "--verify %s", path);
    ck_assert_int_eq(inspect(args), 0);
    HAS(out, "verify          OK: 4 clusters, 20 events, all checksums match\n");

    snprintf(args, sizeof args, "%s --dump 2", path);
    ck_assert_int_eq(inspect(args), 0);
    HAS(out, "event 0: run 355000 lumi 1 event 1000000 bx ");
    HAS(out, "event 1: run 355000 lumi 1 event 1000001 ");
    HAS(out, "  digi 0: channel ");
    HAS(out, "  ... 2 more digis\n");
    ck_assert_ptr_null(strstr(out, "event 2:"));
}
END_TEST

START_TEST(inspect_damaged_file)
{
    mhT_write(path, 20, 6);
    mhT_buf f = mhT_slurp(path);
    uint64_t c1 = mh__ld64(mhT_ixent(f, 1));
    f.b[c1 + 100] ^= 0x08;
    char badp[160], args[256], want[256];
    snprintf(badp, sizeof badp, "%s/bad.mhe", dir);
    mhT_spit(badp, f.b, f.n);

    snprintf(args, sizeof args, "--verify %s", badp);
    ck_assert_int_eq(inspect(args), 1);
    snprintf(want, sizeof want, "minihlt: %s: cluster 1 at byte %" PRIu64 ": checksum mismatch",
             badp, c1);
    ck_assert_msg(!strncmp(errout, want, strlen(want)), "stderr: %s", errout);
    ck_assert_ptr_eq(strchr(errout, '\n'), errout + strlen(errout) - 1); /* one line */

    snprintf(args, sizeof args, "--verify --skip-bad %s", badp);
    ck_assert_int_eq(inspect(args), 1);
    HAS(out, "damaged         1 of 4 clusters skipped (6 of 20 events)\n");
    HAS(out, "(14 events)");
    HAS(errout, "(skipped)\n");
    snprintf(want, sizeof want, "minihlt: %s: 1 damaged cluster skipped (6 of 20 events)\n", badp);
    HAS(errout, want);

    /* truncated, wrong magic, missing file: one line, exit 1 */
    mhT_spit(badp, f.b, f.n - 10);
    ck_assert_int_eq(inspect(badp), 1);
    snprintf(want, sizeof want, "minihlt: %s: truncated: footer missing (file is %zu bytes)\n",
             badp, f.n - 10);
    ck_assert_str_eq(errout, want);
    memcpy(f.b, "PK\3\4", 4);
    mhT_spit(badp, f.b, f.n);
    ck_assert_int_eq(inspect(badp), 1);
    snprintf(want, sizeof want, "minihlt: %s: not an .mhe file (bad magic at byte 0)\n", badp);
    ck_assert_str_eq(errout, want);
    snprintf(args, sizeof args, "%s/missing.mhe", dir);
    ck_assert_int_eq(inspect(args), 1);
    HAS(errout, "missing.mhe: cannot open: No such file or directory\n");
    free(f.b);
}
END_TEST

static const struct { const char *args; int rc; const char *piece; } usage_cases[] = {
    {"", 2, "minihlt inspect: missing FILE\nTry 'minihlt inspect --help'."},
    {"--bogus x.mhe", 2, "unknown option '--bogus'"},
    {"x.mhe --dump", 2, "--dump needs a number of events"},
    {"x.mhe --dump ten", 2, "--dump: expected an integer"},
    {"x.mhe --dump -1", 2, "--dump: expected an integer"},
    {"a.mhe b.mhe", 2, "more than one FILE ('a.mhe', 'b.mhe')"},
};

START_TEST(inspect_usage_errors)
{
    ck_assert_int_eq(inspect(usage_cases[_i].args), usage_cases[_i].rc);
    HAS(errout, usage_cases[_i].piece);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(inspect_help)
{
    ck_assert_int_eq(inspect("--help"), 0);
    HAS(out, "usage: minihlt inspect FILE [--verify] [--skip-bad] [--dump N]");
    HAS(out, "--skip-bad");
    ck_assert_str_eq(errout, "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inspect_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, inspect_good_file);
    tcase_add_test(tc, inspect_damaged_file);
    tcase_add_loop_test(tc, inspect_usage_errors, 0, sizeof usage_cases / sizeof usage_cases[0]);
    tcase_add_test(tc, inspect_help);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
