# OpenCV 4.6 from Debian 12's per-module packages (libopencv-{core,imgproc,
# imgcodecs,dnn}-dev). Those ship neither OpenCVConfig.cmake nor opencv4.pc
# (both come with the much larger libopencv-dev), so the four modules are
# found directly and exposed as imported targets OpenCV::core, ::imgproc,
# ::imgcodecs and ::dnn.
find_path(VEIL_OPENCV_INCLUDE_DIR opencv2/dnn.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(module core imgproc imgcodecs dnn)
  find_library(VEIL_OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
  add_library(OpenCV::${module} UNKNOWN IMPORTED)
  set_target_properties(OpenCV::${module} PROPERTIES
    IMPORTED_LOCATION "${VEIL_OPENCV_${module}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${VEIL_OPENCV_INCLUDE_DIR}")
endforeach()
