"""Two versions of a wine classifier, pure scikit-learn: no serving imports."""
