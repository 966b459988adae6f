# Finds cuDNN's headers and library and makes the imported target CUDNN::cudnn.
# Search order: CUDNN_PATH (CMake or environment variable), the CUDA toolkit, then the pip wheel layout
# (site-packages/nvidia/cudnn/{include,lib}) of the Python interpreter found on PATH.
set(_cudnn_hints)
foreach(_root "${CUDNN_PATH}" "$ENV{CUDNN_PATH}")
  if(_root)
    list(APPEND _cudnn_hints "${_root}")
  endif()
endforeach()
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints "${CUDAToolkit_LIBRARY_ROOT}")
endif()
find_program(_cudnn_python NAMES python3 python)
if(_cudnn_python)
  execute_process(
    COMMAND "${_cudnn_python}" -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])"
    OUTPUT_VARIABLE _cudnn_wheel_root OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cudnn_wheel_root)
    list(APPEND _cudnn_hints "${_cudnn_wheel_root}")
  endif()
endif()

find_path(CUDNN_INCLUDE_DIR cudnn_version.h
  HINTS ${_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS}
  PATH_SUFFIXES include)

if(CUDNN_INCLUDE_DIR)
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _cudnn_version_lines REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
  foreach(_part MAJOR MINOR PATCHLEVEL)
    string(REGEX MATCH "CUDNN_${_part} ([0-9]+)" _match "${_cudnn_version_lines}")
    set(CUDNN_VERSION_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(CUDNN_VERSION "${CUDNN_VERSION_MAJOR}.${CUDNN_VERSION_MINOR}.${CUDNN_VERSION_PATCHLEVEL}")
endif()

# The library of the headers' major version only: a machine may hold cuDNN 8 and 9 side by side.
find_library(CUDNN_LIBRARY NAMES libcudnn.so.${CUDNN_VERSION_MAJOR}
  HINTS ${_cudnn_hints} ${CUDAToolkit_LIBRARY_DIR}
  PATH_SUFFIXES lib lib64)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN
  REQUIRED_VARS CUDNN_INCLUDE_DIR CUDNN_LIBRARY
  VERSION_VAR CUDNN_VERSION)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn_headers INTERFACE IMPORTED)
  target_include_directories(CUDNN::cudnn_headers INTERFACE "${CUDNN_INCLUDE_DIR}" ${CUDAToolkit_INCLUDE_DIRS})
  add_library(CUDNN::cudnn SHARED IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION "${CUDNN_LIBRARY}")
  target_link_libraries(CUDNN::cudnn INTERFACE CUDNN::cudnn_headers)
  get_filename_component(CUDNN_LIBRARY_DIR "${CUDNN_LIBRARY}" DIRECTORY)
endif()
