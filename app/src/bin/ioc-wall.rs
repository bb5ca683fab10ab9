//! Mounts the wall display (`/wall/`), a wasm of its own: the console's code is not in it.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(ioc_app::WallApp);
}
