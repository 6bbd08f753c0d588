//! Compiles the protocol definitions in `proto/` with protox, a pure-Rust protobuf
//! compiler, so a fresh machine builds with cargo alone (no system `protoc`).

fn main() {
    let files = ["proto/tfplugin6.proto", "proto/grpc_controller.proto", "proto/grpc_stdio.proto", "proto/grpc_broker.proto"];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"]).unwrap_or_else(|e| panic!("compiling protos: {e}"));
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating code from protos: {e}"));
}
