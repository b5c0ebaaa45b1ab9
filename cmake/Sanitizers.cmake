# STEGO_SANITIZE: build every target of the tree with GCC's sanitizers (docs/testing.md,
# "Sanitizer builds"). "address,undefined" (one tree for both: they combine, and one tree compiles
# in half the time of two) or "thread" (TSan excludes ASan, so it needs its own tree).
#
# -O1 keeps the instrumented tests fast enough to run in CI while leaving stack traces readable;
# -g1 gives file:line in reports (line tables only) without generating -g's full debug info.
# -fno-sanitize-recover=all turns every UBSan finding into a failing exit, like ASan's.
# The Debian-packaged dependencies are not instrumented; Boost.Asio/Beast are header-only and are.
set(STEGO_SANITIZE "" CACHE STRING "Sanitizers for every target: empty, address,undefined, or thread")

if(STEGO_SANITIZE)
  if(NOT STEGO_SANITIZE MATCHES "^(address,undefined|address|undefined|thread)$")
    message(FATAL_ERROR "STEGO_SANITIZE=${STEGO_SANITIZE}: use address,undefined or thread")
  endif()
  add_compile_options(-fsanitize=${STEGO_SANITIZE} -fno-omit-frame-pointer -O1 -g1)
  add_link_options(-fsanitize=${STEGO_SANITIZE})
  if(STEGO_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
  endif()
  if(STEGO_SANITIZE STREQUAL "thread")
    # GCC warns (-Wtsan, an error under STEGO_WERROR) that TSan ignores atomic_thread_fence. Our code
    # has none; Boost.Asio's std_fenced_block has, around each completion handler. Asio hands a
    # handler from thread to thread through its scheduler's mutex, which TSan does see: no report
    # in the suites run so far came from Asio.
    add_compile_options(-Wno-tsan)
  endif()
endif()
