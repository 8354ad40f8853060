/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The oracle's model of image contents: every byte as the case's writes left
 * it (pattern writes over zeroes), kept naively as a byte array. Apart from
 * lib/ and sim/ like the bitmap models, so a VMA backup's extracted image can
 * be held against what the disk held when the backup started: the case
 * copies the model at that moment and keeps writing to the original.
 */
#ifndef BLOCKSIM_ORACLE_IMAGE_H
#define BLOCKSIM_ORACLE_IMAGE_H

#include <stdint.h>

typedef struct oracle_images oracle_images;
typedef struct oracle_image oracle_image;

oracle_images *oracle_images_new(void);
void oracle_images_free(oracle_images *set);

/* Create (or reset, keeping the name) an all-zero image of size bytes.
 * NULL when size is too large to hold in memory. */
oracle_image *oracle_image_new(oracle_images *set, const char *name, uint64_t size);
oracle_image *oracle_image_find(oracle_images *set, const char *name);
/* name becomes a copy of src (a snapshot). */
oracle_image *oracle_image_copy(oracle_images *set, const char *name, const oracle_image *src);
uint64_t oracle_image_size(const oracle_image *img);
/* Bytes all images of the set hold together. */
uint64_t oracle_images_bytes(const oracle_images *set);

/* Bytes [offset, offset+len) become `pattern`; -1 when past the end. */
int oracle_image_write(oracle_image *img, uint64_t offset, uint64_t len, uint8_t pattern);

/* Compare with the file at path: 0 equal; 1 different (first differing
 * offset in *where, or the file's size when sizes differ, *size_diff set);
 * -errno when the file cannot be read. */
int oracle_image_compare_file(const oracle_image *img, const char *path, uint64_t *where,
                              int *size_diff);

#endif
