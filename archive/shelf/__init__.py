"""The archive proper (the shelf): the classification scheme, volumes, catalogues, fixity, disposal."""
