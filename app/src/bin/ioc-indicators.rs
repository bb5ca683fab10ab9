//! Mounts the socio-economic indicators page (`/indicators/`), a wasm of its own: the wall and
//! the console do not load it.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(ioc_app::IndicatorsApp);
}
