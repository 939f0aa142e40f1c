package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"hash"

	"github.com/gofka/gofka/wire"
)

// Encrypted private keys (ssl.key.password). Two encodings exist in the
// wild and both are read here with the standard library only:
//
//   - PKCS#8 "ENCRYPTED PRIVATE KEY" with PBES2 (PBKDF2 + AES-CBC or
//     3DES-CBC): what OpenSSL 3 writes (openssl pkcs8 -topk8, genpkey
//     -aes256) and what Kafka's PEM keystores use.
//   - Legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" headers),
//     through crypto/x509's (deprecated, but still correct) decrypter.
//
// A wrong password is AUTHENTICATION_LOCAL (a credential problem), a key
// that needs a password and has none INVALID_ARGUMENT. Neither error shows
// the password.

var (
	oidPBES2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	pbkdf2PRFs      = map[string]func() hash.Hash{
		"1.2.840.113549.2.7":  sha1.New,
		"1.2.840.113549.2.8":  sha256.New224,
		"1.2.840.113549.2.9":  sha256.New,
		"1.2.840.113549.2.10": sha512.New384,
		"1.2.840.113549.2.11": sha512.New,
	}
	oidAES128CBC  = "2.16.840.1.101.3.4.1.2"
	oidAES192CBC  = "2.16.840.1.101.3.4.1.22"
	oidAES256CBC  = "2.16.840.1.101.3.4.1.42"
	oidDESEDE3CBC = "1.2.840.113549.3.7"
)

type pkcs8Encrypted struct {
	Algo          pkixAlgorithm
	EncryptedData []byte
}

type pkixAlgorithm struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type pbes2Params struct {
	KeyDerivationFunc pkixAlgorithm
	EncryptionScheme  pkixAlgorithm
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int           `asn1:"optional"`
	PRF        pkixAlgorithm `asn1:"optional"`
}

// decryptKeyBlock returns the key as unencrypted PEM, decrypting it with
// password when it is encrypted. prop names the property for errors.
func decryptKeyBlock(b *pem.Block, password, prop string) ([]byte, error) {
	// Deprecated in crypto/x509 because the format is weak, but still what
	// many tools write; reading it is better than refusing the user's key.
	legacy := x509.IsEncryptedPEMBlock(b)
	encrypted := b.Type == "ENCRYPTED PRIVATE KEY" || legacy
	if !encrypted {
		if password != "" {
			return nil, securityErr("ssl.key.password is set but the key in %s is not encrypted", prop)
		}
		return pem.EncodeToMemory(b), nil
	}
	if password == "" {
		return nil, securityErr("the private key in %s is encrypted: set ssl.key.password", prop)
	}
	wrong := &wire.Error{Code: wire.ErrAuthenticationLocal,
		Detail: fmt.Sprintf("ssl.key.password does not decrypt the private key in %s", prop)}
	if legacy {
		der, err := x509.DecryptPEMBlock(b, []byte(password))
		if err != nil || !parsesAsKey(der) {
			// A wrong password can leave valid-looking padding (about
			// 1 in 256 times): only a key that parses counts.
			return nil, wrong
		}
		return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
	}
	der, err := decryptPKCS8(b.Bytes, []byte(password))
	if err != nil {
		if err == errWrongKeyPassword {
			return nil, wrong
		}
		return nil, securityErr("private key in %s: %v", prop, err)
	}
	if !parsesAsKey(der) {
		return nil, wrong // garbage that happened to have valid padding
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

var errWrongKeyPassword = fmt.Errorf("wrong password")

func parsesAsKey(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// decryptPKCS8 decrypts a DER EncryptedPrivateKeyInfo with PBES2.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info pkcs8Encrypted
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("not a PKCS#8 EncryptedPrivateKeyInfo")
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported key encryption %v (only PBES2 is supported: re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc)", info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("bad PBES2 parameters")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported key derivation %v (only PBKDF2)", params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("bad PBKDF2 parameters")
	}
	prf := sha1.New
	if len(kdf.PRF.Algorithm) > 0 && !kdf.PRF.Algorithm.Equal(oidHMACWithSHA1) {
		h, ok := pbkdf2PRFs[kdf.PRF.Algorithm.String()]
		if !ok {
			return nil, fmt.Errorf("unsupported PBKDF2 PRF %v", kdf.PRF.Algorithm)
		}
		prf = h
	}
	if kdf.Iterations < 1 || kdf.Iterations > 10_000_000 {
		return nil, fmt.Errorf("PBKDF2 iteration count %d out of range", kdf.Iterations)
	}
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	switch params.EncryptionScheme.Algorithm.String() {
	case oidAES128CBC:
		keyLen, newBlock = 16, aes.NewCipher
	case oidAES192CBC:
		keyLen, newBlock = 24, aes.NewCipher
	case oidAES256CBC:
		keyLen, newBlock = 32, aes.NewCipher
	case oidDESEDE3CBC:
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("unsupported key cipher %v (AES-CBC or DES-EDE3-CBC)", params.EncryptionScheme.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("bad cipher IV")
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(iv) != bs || len(info.EncryptedData) == 0 || len(info.EncryptedData)%bs != 0 {
		return nil, fmt.Errorf("bad encrypted key length")
	}
	out := make([]byte, len(info.EncryptedData))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.EncryptedData)
	// PKCS#7 padding; a wrong password leaves garbage here (checked in
	// constant time so that nothing leaks through timing).
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, errWrongKeyPassword
	}
	want := make([]byte, pad)
	for i := range want {
		want[i] = byte(pad)
	}
	if !hmac.Equal(out[len(out)-pad:], want) {
		return nil, errWrongKeyPassword
	}
	return out[:len(out)-pad], nil
}
