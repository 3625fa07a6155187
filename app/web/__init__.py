"""The storefront: static files, built (content-hashed) by `app.web.site`, served by the bucket."""
