// DORA_NODE_API: marks what libdora-node.so exports.
//
// The library is built with -fvisibility=hidden, so only the classes and functions marked here
// (the public node API) are visible to the dynamic linker; the shared-memory, message and
// formatting code inside the library stays private to it. Users never define this macro; it
// expands to the same attribute whether the header is read while building the library or a node.
//
// Thread safety: a macro; nothing to synchronise.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define DORA_NODE_API __attribute__((visibility("default")))
#else
#define DORA_NODE_API
#endif
