//! The model code behind the mining module, on top of smartcore 0.7: datasets, logistic
//! regression and a bagged forest with probabilities and explanations, metrics, k-means, PCA.
