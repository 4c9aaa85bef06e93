"""The bundled demo: sample replies and CRM records, and the code that shows them."""
