"""Model code, loaders, training and evaluation. Free of Ray and of the database."""
