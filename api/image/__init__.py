"""The Image API v2 subset (Glance's bodies and codes): the tree's images,
read-only, and images uploaded through it, kept by the API alone.

    routes    the routes and the registry, set up on the app
    images    lists and shows                 views    an image's body
    manage    create, patch, delete, tags     patch    JSON patch operations
    upload    an image's data in and out      files    that data on disk
    store     the two kinds of image, and who sees or changes which
    fields    what a client may write of an image
"""
