"""The bundled example project and the demo job."""
