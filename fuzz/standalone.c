// SPDX-License-Identifier: GPL-2.0-or-later
/* Run a fuzz target over files and directories of inputs: how corpora run as ordinary tests. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(data = malloc((size_t)size + 1)) || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f)
			fclose(f);
		free(data);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int run_path(const char *path, unsigned int *count)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int bad = 0;

	if (stat(path, &st) != 0)
		return fprintf(stderr, "%s: no such input\n", path), 1;
	if (!S_ISDIR(st.st_mode))
		return (*count)++, run_file(path);
	if (!(d = opendir(path)))
		return 1;
	while ((e = readdir(d))) {
		char child[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		bad |= run_path(child, count);
	}
	closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++)
		bad |= run_path(argv[i], &count);
	printf("%u inputs\n", count);
	return bad || count == 0;
}
