/* LD_PRELOAD shim that counts heap allocations: every malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, memalign and valloc (operator new reaches
 * malloc) adds one to a 64-bit counter and is then forwarded to the next
 * definition (glibc's). The counter lives in the first 8 bytes of the file named
 * by MCGUARD_ALLOC_COUNT_FILE, mapped shared, so another process reads it at any
 * time without signalling this one; without the variable it counts in memory only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

typedef void* (*malloc_fn)(size_t);
typedef void* (*calloc_fn)(size_t, size_t);
typedef void* (*realloc_fn)(void*, size_t);
typedef void (*free_fn)(void*);
typedef int (*posix_memalign_fn)(void**, size_t, size_t);
typedef void* (*aligned_alloc_fn)(size_t, size_t);
typedef void* (*valloc_fn)(size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static posix_memalign_fn real_posix_memalign;
static aligned_alloc_fn real_aligned_alloc;
static aligned_alloc_fn real_memalign;
static valloc_fn real_valloc;

static uint64_t local_count;
/* Points at local_count until the shared file is mapped. */
static uint64_t* counter = &local_count;

/* dlsym may itself allocate (calloc for its error state): those requests are
 * served from this buffer while resolving, and never freed. */
static _Alignas(64) unsigned char bootstrap[16384];
static size_t bootstrap_used;
static int resolving;

static int in_bootstrap(const void* p) {
  const unsigned char* b = (const unsigned char*)p;
  return b >= bootstrap && b < bootstrap + sizeof bootstrap;
}

static void* bootstrap_alloc(size_t size) {
  size_t start = __atomic_fetch_add(&bootstrap_used, (size + 15) & ~(size_t)15, __ATOMIC_RELAXED);
  if (start + size > sizeof bootstrap) return NULL;
  return bootstrap + start; /* static storage: already zero, as calloc needs */
}

static void resolve(void) {
  if (__atomic_load_n(&real_free, __ATOMIC_ACQUIRE) != NULL || resolving) return;
  resolving = 1;
  real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
  real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
  real_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = (aligned_alloc_fn)dlsym(RTLD_NEXT, "aligned_alloc");
  real_memalign = (aligned_alloc_fn)dlsym(RTLD_NEXT, "memalign");
  real_valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
  __atomic_store_n(&real_free, (free_fn)dlsym(RTLD_NEXT, "free"), __ATOMIC_RELEASE);
  resolving = 0;
}

static void count(void) { __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

__attribute__((constructor)) static void map_counter(void) {
  resolve();
  const char* path = getenv("MCGUARD_ALLOC_COUNT_FILE");
  if (path == NULL || path[0] == '\0') return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (ftruncate(fd, sizeof(uint64_t)) == 0) {
    void* page = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page != MAP_FAILED) {
      uint64_t* shared = (uint64_t*)page;
      __atomic_store_n(shared, __atomic_load_n(&local_count, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
      __atomic_store_n(&counter, shared, __ATOMIC_RELEASE);
    }
  }
  close(fd);
}

void* malloc(size_t size) {
  if (resolving) return bootstrap_alloc(size);
  resolve();
  count();
  return real_malloc(size);
}

void* calloc(size_t n, size_t size) {
  if (resolving) return n != 0 && size > SIZE_MAX / n ? NULL : bootstrap_alloc(n * size);
  resolve();
  count();
  return real_calloc(n, size);
}

void* realloc(void* p, size_t size) {
  if (resolving) return NULL;
  resolve();
  count();
  if (in_bootstrap(p)) {
    /* The old size is unknown; copy what can be read of the buffer. */
    unsigned char* fresh = real_malloc(size);
    const unsigned char* old = p;
    size_t limit = (size_t)(bootstrap + sizeof bootstrap - old);
    for (size_t i = 0; fresh != NULL && i < size && i < limit; ++i) fresh[i] = old[i];
    return fresh;
  }
  return real_realloc(p, size);
}

void free(void* p) {
  if (p == NULL || in_bootstrap(p)) return;
  resolve();
  if (real_free == NULL) return; /* freed while resolving: leaked */
  real_free(p);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  resolve();
  count();
  return real_posix_memalign(out, alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  resolve();
  count();
  return real_aligned_alloc(alignment, size);
}

void* memalign(size_t alignment, size_t size) {
  resolve();
  count();
  return real_memalign(alignment, size);
}

void* valloc(size_t size) {
  resolve();
  count();
  return real_valloc(size);
}
