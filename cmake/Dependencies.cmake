# Finds every third-party library from the system (Debian packages, see scripts/install-deps.sh)
# and exposes each as an imported target, so the rest of the build names targets, not paths.

find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(RocksDB REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(cpprestsdk REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)

# libdeflate ships a pkg-config file but no CMake config in Debian bookworm.
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)

# Debian splits OpenCV into per-module packages; the module packages ship no CMake config (only the
# libopencv-dev meta package does, and it drags in Qt and FFmpeg), so find headers and libraries directly.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(opencv INTERFACE IMPORTED)
target_include_directories(opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
foreach(module core imgproc imgcodecs)
  find_library(OPENCV_${module}_LIBRARY NAMES opencv_${module} REQUIRED)
  target_link_libraries(opencv INTERFACE ${OPENCV_${module}_LIBRARY})
endforeach()

if(STEGO_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(STEGO_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
