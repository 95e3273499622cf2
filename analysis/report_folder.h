// report_folder.h: the output folder of `litelab report`: created when
// missing, refused when it holds anything unless forced; forced, the files
// a report writes are removed first (report_folder.c). Internal to analysis/.
#pragma once
#include "common.h"

// Whether a file name is one a report writes (tables, data files, figures,
// report.md, report.json, replot.sh, gnuplot.log).
int ll_report_owns_file(const char *name);
ll_status ll_report_prepare_folder(const char *dir, int force, ll_error *err);
