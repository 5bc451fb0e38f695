# Recipes for the workspace. `just` is optional: each recipe is one plain
# command, and README.md gives them all.

# List the recipes.
default:
    @just --list

# Run stage N's demo, e.g. `just run 1 --virtual`.
run N *ARGS:
    cargo run -p stage$(basename crates/0{{N}}-*) -- {{ARGS}}

# Run every test of every stage.
test:
    cargo test --workspace

# Run stage 4's, 5's and 6's tests, and the cross-stage ones, on the fast path.
test-fast:
    cargo test -p stage04-futures-tasks -p stage05-cancellation -p stage06-socket-io -p asyncio-from-scratch --features stage05-cancellation/fast

# Lint everything, benchmarks included, as CI does.
lint:
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Serve the book at localhost:3000 and open it.
book:
    mdbook serve book --open

# Build the book into book/build.
book-build:
    mdbook build book

# Run the benchmarks of stage N, or of every stage.
bench N="":
    if [ -z "{{N}}" ]; then cargo bench --workspace --all-features; else cargo bench -p stage$(basename crates/0{{N}}-*) --features bench; fi

# The echo benchmark: stage 6 against tokio, asyncio and uvloop (chapter 7).
bench-echo:
    cargo bench -p stage06-socket-io --features bench --bench echo

# Ten thousand connections to stage 6's echo server, from one client loop.
load *ARGS:
    cargo run --release --example ten_thousand -- {{ARGS}}

# Everything CI checks.
ci:
    bash .ci/run
