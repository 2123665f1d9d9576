/* pipeline._resample: resize packed 8-bit RGB by separable convolution, for the fetch stage.
 *
 * Resizing was ~40% of the CPU wit spends per stored image with Pillow's resampler (scalar code,
 * one output pixel at a time). This does the same convolution (the same kernels, their support
 * widened by the scale when shrinking, a source box with fractional edges) as two vertical
 * passes: rows, then the transposed intermediate's rows. A vertical pass adds whole source rows
 * times one weight into a row of accumulators, a loop the compiler vectorises, and stores its
 * result transposed; on x86-64 Linux
 * it is also built for AVX2 and picked at run time. The caller (pipeline/images.py) keeps
 * Pillow's resize as the fallback when this module is not built; the two agree to within half a
 * level per channel on average (tests/test_resample.py).
 *
 * resample(data, width, height, box, out_width, out_height, kernel) -> bytes
 *   data: width * height * 3 bytes (packed RGB rows); box: (x0, y0, x1, y1) floats within the
 *   image; kernel: 0 box (area), 1 triangle (bilinear), 2 bicubic (a = -0.5), 3 lanczos3.
 *   Returns out_width * out_height * 3 bytes. The GIL is released while it works.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Weights are fixed point with this many fraction bits: 8-bit samples times weights of at most a
 * few ONE (a kernel's lobes, renormalised at an edge) keep every sum well inside int32. */
#define FRACTION_BITS 14
#define ONE (1 << FRACTION_BITS)
/* Past this scale the caller reduces by an integer factor first (as Pillow's reducing_gap does):
 * the weight tables would grow with the scale. */
#define MAX_SCALE 64.0
#define MAX_SCALE_TEXT "64"

typedef double (*Kernel)(double);

static double box_kernel(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double triangle_kernel(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic_kernel(double x) {
    /* Keys' cubic convolution with a = -0.5 */
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos3_kernel(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

static const struct {
    Kernel function;
    double support;
} KERNELS[] = {{box_kernel, 0.5}, {triangle_kernel, 1.0}, {bicubic_kernel, 2.0}, {lanczos3_kernel, 3.0}};
#define N_KERNELS ((int)(sizeof(KERNELS) / sizeof(KERNELS[0])))

/* For each output position along one axis: the first source index and the weights of
 * `count` source samples from there (a table of `taps` weights per output position). */
typedef struct {
    int *first;
    int *count;
    int32_t *weights;
    int taps;
} Axis;

static void axis_free(Axis *axis) {
    free(axis->first);
    free(axis->count);
    free(axis->weights);
}

static int axis_init(Axis *axis, int kernel, double start, double end, int in_size, int out_size) {
    const Kernel function = KERNELS[kernel].function;
    const double scale = (end - start) / out_size;
    const double stretch = scale > 1.0 ? scale : 1.0; /* shrinking widens the kernel: antialiasing */
    const double reach = KERNELS[kernel].support * stretch;
    double *real;
    axis->taps = (int)ceil(reach) * 2 + 1;
    axis->first = malloc(sizeof(int) * out_size);
    axis->count = malloc(sizeof(int) * out_size);
    axis->weights = calloc((size_t)out_size * axis->taps, sizeof(int32_t));
    real = malloc(sizeof(double) * axis->taps);
    if (!axis->first || !axis->count || !axis->weights || !real) {
        free(real);
        return -1;
    }
    for (int i = 0; i < out_size; i++) {
        const double centre = start + (i + 0.5) * scale;
        int low = (int)floor(centre - reach + 0.5);
        int high = (int)floor(centre + reach + 0.5);
        double total = 0.0;
        int sum = 0, biggest = 0;
        int32_t *weights = axis->weights + (size_t)i * axis->taps;
        if (low < 0) low = 0;
        if (high > in_size) high = in_size;
        if (high - low > axis->taps) high = low + axis->taps;
        if (high <= low) { /* a box past the edge: take the nearest sample */
            low = centre < 0 ? 0 : in_size - 1;
            high = low + 1;
        }
        for (int j = low; j < high; j++) {
            real[j - low] = function((j + 0.5 - centre) / stretch);
            total += real[j - low];
        }
        if (total == 0.0) { /* only where a kernel's zeros fall on every sample: keep the nearest */
            for (int j = low; j < high; j++) real[j - low] = 0.0;
            real[(int)fmin(fmax(floor(centre) - low, 0), high - low - 1)] = 1.0;
            total = 1.0;
        }
        for (int k = 0; k < high - low; k++) {
            weights[k] = (int32_t)lrint(real[k] / total * ONE);
            sum += weights[k];
            if (abs(weights[k]) > abs(weights[biggest])) biggest = k;
        }
        weights[biggest] += ONE - sum; /* the weights sum to exactly one: flat areas stay flat */
        axis->first[i] = low;
        axis->count[i] = high - low;
    }
    free(real);
    return 0;
}

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

/* Output row y = the sum over k of weight[y][k] times source row first[y] + k, over `length` bytes
 * of RGB pixels, written transposed: its pixel p goes to row p, column y of `out` (out_rows wide).
 * The sums are whole rows, which the compiler vectorises; writing them transposed hands the next
 * pass its rows (and the last pass the image's) without a separate transpose. */
VECTOR_CLONES
static void convolve_rows(const uint8_t *source, Py_ssize_t source_stride, Py_ssize_t length, const Axis *axis,
                          int out_rows, uint8_t *out, int32_t *sums) {
    const Py_ssize_t out_stride = (Py_ssize_t)out_rows * 3;
    for (int y = 0; y < out_rows; y++) {
        const int32_t *weights = axis->weights + (size_t)y * axis->taps;
        const uint8_t *row = source + (Py_ssize_t)axis->first[y] * source_stride;
        uint8_t *target = out + (Py_ssize_t)y * 3;
        for (Py_ssize_t i = 0; i < length; i++) sums[i] = 1 << (FRACTION_BITS - 1); /* rounds to nearest */
        for (int k = 0; k < axis->count[y]; k++, row += source_stride) {
            const int32_t weight = weights[k];
            for (Py_ssize_t i = 0; i < length; i++) sums[i] += weight * (int32_t)row[i];
        }
        for (Py_ssize_t i = 0; i < length; i++) { /* in place: each sum becomes its clipped byte */
            const int32_t value = sums[i] >> FRACTION_BITS;
            sums[i] = value < 0 ? 0 : value > 255 ? 255 : value;
        }
        for (Py_ssize_t p = 0; p < length / 3; p++, target += out_stride) {
            target[0] = (uint8_t)sums[3 * p];
            target[1] = (uint8_t)sums[3 * p + 1];
            target[2] = (uint8_t)sums[3 * p + 2];
        }
    }
}

/* The work, without the GIL: 0 on success, -1 when memory ran out. */
static int resample_rgb(const uint8_t *data, int width, int height, const double box[4], int out_width,
                        int out_height, int kernel, uint8_t *out) {
    Axis across = {0}, down = {0};
    uint8_t *turned = NULL;
    int32_t *sums = NULL;
    int status = -1;
    int left, right, span;
    if (axis_init(&across, kernel, box[0], box[2], width, out_width) < 0) goto done;
    if (axis_init(&down, kernel, box[1], box[3], height, out_height) < 0) goto done;
    /* Only the columns some output pixel reads take part in the first pass. */
    left = across.first[0];
    right = across.first[out_width - 1] + across.count[out_width - 1];
    for (int i = 0; i < out_width; i++) {
        if (across.first[i] < left) left = across.first[i];
        if (across.first[i] + across.count[i] > right) right = across.first[i] + across.count[i];
    }
    span = right - left;
    for (int i = 0; i < out_width; i++) across.first[i] -= left;
    turned = malloc((size_t)span * out_height * 3);
    sums = malloc(sizeof(int32_t) * (size_t)(span > out_height ? span : out_height) * 3); /* one row of either pass */
    if (!turned || !sums) goto done;
    /* Down: out_height rows of the used columns, stored as span rows of out_height pixels ... */
    convolve_rows(data + (Py_ssize_t)left * 3, (Py_ssize_t)width * 3, (Py_ssize_t)span * 3, &down, out_height, turned,
                  sums);
    /* ... so across is again down those rows, stored back the right way round: the image. */
    convolve_rows(turned, (Py_ssize_t)out_height * 3, (Py_ssize_t)out_height * 3, &across, out_width, out, sums);
    status = 0;
done:
    axis_free(&across);
    axis_free(&down);
    free(turned);
    free(sums);
    return status;
}

static PyObject *resample(PyObject *self, PyObject *args) {
    Py_buffer source;
    int width, height, out_width, out_height, kernel, failed;
    double box[4];
    PyObject *result;
    if (!PyArg_ParseTuple(args, "y*ii(dddd)iii", &source, &width, &height, &box[0], &box[1], &box[2], &box[3],
                          &out_width, &out_height, &kernel))
        return NULL;
    if (width < 1 || height < 1 || out_width < 1 || out_height < 1) {
        PyErr_SetString(PyExc_ValueError, "sizes must be positive");
        goto fail;
    }
    if (source.len != (Py_ssize_t)width * height * 3) {
        PyErr_Format(PyExc_ValueError, "expected %zd bytes of RGB, got %zd", (Py_ssize_t)width * height * 3, source.len);
        goto fail;
    }
    if (kernel < 0 || kernel >= N_KERNELS) {
        PyErr_Format(PyExc_ValueError, "unknown kernel %d", kernel);
        goto fail;
    }
    if (!(box[0] >= 0 && box[1] >= 0 && box[2] <= width && box[3] <= height && box[0] < box[2] && box[1] < box[3])) {
        PyErr_SetString(PyExc_ValueError, "box must lie within the image and have a positive size");
        goto fail;
    }
    if ((box[2] - box[0]) / out_width > MAX_SCALE || (box[3] - box[1]) / out_height > MAX_SCALE) {
        PyErr_SetString(PyExc_ValueError, "scale over " MAX_SCALE_TEXT ": reduce by an integer factor first");
        goto fail;
    }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)out_width * out_height * 3);
    if (result == NULL) goto fail;
    Py_BEGIN_ALLOW_THREADS;
    failed = resample_rgb(source.buf, width, height, box, out_width, out_height, kernel,
                          (uint8_t *)PyBytes_AS_STRING(result));
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&source);
    if (failed) {
        Py_DECREF(result);
        return PyErr_NoMemory();
    }
    return result;
fail:
    PyBuffer_Release(&source);
    return NULL;
}

static PyMethodDef METHODS[] = {
    {"resample", resample, METH_VARARGS,
     "resample(data, width, height, box, out_width, out_height, kernel) -> bytes of packed RGB"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_resample", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__resample(void) { return PyModule_Create(&MODULE); }
