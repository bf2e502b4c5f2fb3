{
  "targets": [
    {
      "target_name": "dpdk_ts",
      "sources": [
        "native/addon.cc",
        "native/batch.cc",
        "native/burst.cc",
        "native/capture.cc",
        "native/eal.cc",
        "native/engine.cc",
        "native/errors.cc",
        "native/log_capture.cc",
        "native/mempool.cc",
        "native/packet_filter.cc",
        "native/port.cc",
        "native/port_table.cc",
        "native/telemetry.cc",
        "native/vdev_wait.cc",
        "native/vhost_socket.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(pkg-config --cflags-only-I libdpdk | sed 's/-I//g')"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "<!@(pkg-config --cflags-only-other libdpdk)"],
      "libraries": ["<!@(pkg-config --libs libdpdk)"]
    }
  ]
}
