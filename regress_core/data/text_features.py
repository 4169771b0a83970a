"""Numbers a model reads from free text: character n-gram TF-IDF reduced by a truncated SVD.

A scikit-learn transformer fitted on the training rows and saved with the preprocessor. It
keeps only plain data (the n-gram vocabulary as a list, the IDF weights and the SVD
components as arrays), so a saved preprocessor still holds no object of another library's
text machinery, and scoring rebuilds the vectorizer from that vocabulary, once per loaded
preprocessor.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

NGRAMS = (2, 4)  # character n-grams within word boundaries, as skrub's StringEncoder takes them
MAX_COMPONENTS = 16
MAX_NGRAMS = 4096  # the most frequent n-grams kept, so a long text column saves a bounded vocabulary
ROWS_PER_COMPONENT = 20  # no component fitted on fewer training rows than this
MIN_WORDS = 2.0  # mean words per filled value from which a many-category column reads as free text


def reads_as_text(values: pd.Series) -> bool:
    """Whether a column's filled values hold words, not codes: at least MIN_WORDS on average.

    A word holds a letter, so "team 12" or "A-113" is one word and reads as a code.
    """
    filled = values.dropna().astype(str)
    if not len(filled):
        return False
    words = filled.str.count(r"(?:^|\s)\S*[^\W\d_]\S*")
    return float(words.mean()) >= MIN_WORDS


class TextFeatures(TransformerMixin, BaseEstimator):
    """Turns one text column into at most MAX_COMPONENTS numbers; blanks read as empty text."""

    def fit(self, X: Any, y: Any = None) -> TextFeatures:
        """Learn the n-gram vocabulary, its IDF weights and the SVD components from the training rows."""
        texts = _texts(X)
        _SCORING_VECTORIZERS.pop(self, None)
        self.n_features_in_ = 1
        self.feature_names_in_ = np.asarray([_name(X)], dtype=object)
        vectorizer = _vectorizer(max_features=MAX_NGRAMS).fit(texts)
        counts = vectorizer.transform(texts)
        self.vocabulary_ = [str(term) for term in vectorizer.get_feature_names_out()]
        self.idf_ = np.asarray(vectorizer.idf_, dtype="float64")
        n_components = max(1, min(MAX_COMPONENTS, len(texts) // ROWS_PER_COMPONENT, counts.shape[1] - 1))
        self.components_ = TruncatedSVD(n_components=n_components, random_state=0).fit(counts).components_
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Shape (n_rows, n_components), float64."""
        if not hasattr(self, "components_"):
            raise NotFittedError("TextFeatures is not fitted yet; call fit first")
        vectorizer = _SCORING_VECTORIZERS.get(self)
        if vectorizer is None:
            vectorizer = _vectorizer(vocabulary=self.vocabulary_)
            vectorizer.fit([""])  # builds the analyzer over the fixed vocabulary
            vectorizer.idf_ = self.idf_
            _SCORING_VECTORIZERS[self] = vectorizer
        return np.asarray(vectorizer.transform(_texts(X)) @ self.components_.T, dtype="float64")

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names `<column>_text<k>`."""
        if not hasattr(self, "components_"):
            raise NotFittedError("TextFeatures is not fitted yet; call fit first")
        name = str(self.feature_names_in_[0])
        return np.asarray([f"{name}_text{k}" for k in range(len(self.components_))], dtype=object)


# The vectorizer each fitted TextFeatures rebuilt from its saved vocabulary, kept beside it
# rather than on it (it is not saved): streaming scoring transforms one row group at a time.
_SCORING_VECTORIZERS: weakref.WeakKeyDictionary[TextFeatures, TfidfVectorizer] = weakref.WeakKeyDictionary()


def _vectorizer(vocabulary: list[str] | None = None, max_features: int | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, vocabulary=vocabulary, max_features=max_features
    )


def _texts(X: Any) -> list[str]:
    column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X, dtype=object).reshape(-1))
    return [value.lower() if isinstance(value, str) else "" for value in column.astype(object)]


def _name(X: Any) -> str:
    return str(X.columns[0]) if isinstance(X, pd.DataFrame) else "x0"
